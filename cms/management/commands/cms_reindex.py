"""Rebuild the site search's text for every live page (after an upgrade of the segmenter or
its dictionary; publishing keeps it up to date otherwise)."""

from django.core.management.base import BaseCommand

from wagtail.models import Page

from cms.models import SearchEntry
from cms.search import index_page


class Command(BaseCommand):
    help = "Rebuild the search text of every live page."

    def handle(self, *args, **options):
        SearchEntry.objects.exclude(page__live=True).delete()
        count = 0
        for page in Page.objects.live().filter(depth__gt=1).specific().iterator():
            index_page(page)
            count += 1
        self.stdout.write(f"Indexed {count} pages.")
