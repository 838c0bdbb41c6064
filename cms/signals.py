"""What follows a publish or an unpublish: the page's search text is written or removed, the
footer's cached links (per language) are cleared, the public page cache is purged for the pages
the change affects (cms/page_cache.py), and an urgent announcement's residents are queued to be
told. Moves, slug changes, deletions and edits to what every page may show (alert banners,
categories, communities, services, clinics) purge the whole page cache."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete

from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from portal.celery import publish
from portal.mypage.panels import site_changed

from . import page_cache
from .templatetags.cms_tags import footer_cache_key

# Shown on public pages beyond the pages themselves: a change purges every cached page.
SHOWN_ON_PAGES = [
    "cms.AlertBanner",
    "cms.AnnouncementCategory",
    "accounts.Community",
    "accounts.Street",
    "cases.Service",
    "booking.Clinic",
]


def clear_footer(**kwargs):
    cache.delete_many([footer_cache_key(code) for code, _name in settings.LANGUAGES])
    site_changed()  # My page is cached whole, footer included (portal/mypage/panels.py)


def purge_page_cache(sender, instance, **kwargs):
    page_cache.purge_page(instance)


def purge_all_pages(sender, **kwargs):
    page_cache.purge_all()


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
    from wagtail.models import Page

    from . import models

    page_published.connect(index_for_search, dispatch_uid="cms-search-published")
    page_unpublished.connect(unindex_for_search, dispatch_uid="cms-search-unpublished")
    page_published.connect(clear_footer, dispatch_uid="cms-footer-published")
    page_unpublished.connect(clear_footer, dispatch_uid="cms-footer-unpublished")
    page_published.connect(announce_urgent, dispatch_uid="cms-urgent-published")
    page_published.connect(purge_page_cache, dispatch_uid="cms-page-cache-published")
    page_unpublished.connect(purge_page_cache, dispatch_uid="cms-page-cache-unpublished")
    page_slug_changed.connect(purge_all_pages, dispatch_uid="cms-page-cache-slug")
    post_page_move.connect(purge_all_pages, dispatch_uid="cms-page-cache-moved")
    for model in [Page, *[m for m in vars(models).values() if _is_page_type(m)]]:
        uid = f"cms-page-cache-deleted-{model._meta.label}"
        pre_delete.connect(purge_all_pages, sender=model, dispatch_uid=uid)
    for label in SHOWN_ON_PAGES:
        post_save.connect(purge_all_pages, sender=label, dispatch_uid=f"cms-page-cache-{label}")
        uid = f"cms-page-cache-{label}-deleted"
        post_delete.connect(purge_all_pages, sender=label, dispatch_uid=uid)


def _is_page_type(value):
    from wagtail.models import Page

    return isinstance(value, type) and issubclass(value, Page) and not value._meta.abstract
