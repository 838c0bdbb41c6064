"""`{% load cms_tags %}`: the footer's links to the contact page and the notices."""

from django import template
from django.core.cache import cache
from django.utils import translation

register = template.Library()

FOOTER_CACHE_KEY = "cms:footer:{language}"


def footer_cache_key(language=None):
    return FOOTER_CACHE_KEY.format(language=language or translation.get_language())


@register.inclusion_tag("cms/includes/footer_links.html")
def footer_links():
    """The standard pages marked for the footer, in the reader's language when translated.
    Cached per language; publishing or unpublishing any page clears it (cms.signals)."""
    key = footer_cache_key()
    links = cache.get(key)
    if links is None:
        from cms.models import StandardPage, one_per_translation

        pages = one_per_translation(StandardPage.objects.live().filter(show_in_footer=True))
        links = [
            {"title": p.title, "url": p.url, "language": p.locale.language_code}
            for p in pages.select_related("locale").order_by("footer_order", "pk")
        ]
        cache.set(key, links, 60 * 60)
    return {"links": links, "reader_language": translation.get_language()}
