"""What follows a publish or an unpublish: the page's search text is written or removed, the
footer's cached links (per language) are cleared, and an urgent announcement's residents are
queued to be told."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from wagtail.signals import page_published, page_unpublished

from portal.celery import publish

from .templatetags.cms_tags import footer_cache_key


def clear_footer(**kwargs):
    cache.delete_many([footer_cache_key(code) for code, _name in settings.LANGUAGES])


def announce_urgent(sender, instance, **kwargs):
    from . import residents, tasks
    from .models import AnnouncementPage

    page = instance.specific if not isinstance(instance, AnnouncementPage) else instance
    if not isinstance(page, AnnouncementPage):
        return
    broadcast = residents.record_urgent(page)
    if broadcast is not None and broadcast.sent_at is None:
        key = str(broadcast.translation_key)
        # Not queued (broker away)? The minute task sends pending broadcasts.
        transaction.on_commit(lambda: publish(tasks.send_urgent_announcement, args=(key,)))


def index_for_search(sender, instance, **kwargs):
    from . import search

    search.index_page(instance.specific)


def unindex_for_search(sender, instance, **kwargs):
    from . import search

    search.remove_page(instance)


def connect():
    page_published.connect(index_for_search, dispatch_uid="cms-search-published")
    page_unpublished.connect(unindex_for_search, dispatch_uid="cms-search-unpublished")
    page_published.connect(clear_footer, dispatch_uid="cms-footer-published")
    page_unpublished.connect(clear_footer, dispatch_uid="cms-footer-unpublished")
    page_published.connect(announce_urgent, dispatch_uid="cms-urgent-published")
