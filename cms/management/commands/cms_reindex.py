"""Rebuild the site search's text for every live page (after an upgrade of the segmenter or
its dictionary; publishing keeps it up to date otherwise)."""

from django.core.management.base import BaseCommand

from wagtail.models import Page

from cms.models import SearchEntry
from cms.search import index_pages


class Command(BaseCommand):
    help = "Rebuild the search text of every live page."

    def handle(self, *args, **options):
        SearchEntry.objects.exclude(page__live=True).delete()
        pages = Page.objects.live().filter(depth__gt=1).specific().iterator()
        count = index_pages(pages)  # one statement for 500 pages
        self.stdout.write(f"Indexed {count} pages.")
