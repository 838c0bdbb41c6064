"""Keep what is derived from published pages fresh: the footer's links (per language)."""

from django.conf import settings
from django.core.cache import cache

from wagtail.signals import page_published, page_unpublished

from .templatetags.cms_tags import footer_cache_key


def clear_footer(**kwargs):
    cache.delete_many([footer_cache_key(code) for code, _name in settings.LANGUAGES])


def connect():
    page_published.connect(clear_footer, dispatch_uid="cms-footer-published")
    page_unpublished.connect(clear_footer, dispatch_uid="cms-footer-unpublished")
