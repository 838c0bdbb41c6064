"""Pages for the CMS tests: the site's home in each language, an announcement list and
announcements with their translations, published the way an editor publishes."""

import datetime

from django.utils import timezone

from wagtail.models import Locale, Site
from wagtail.rich_text import RichText

from cms.models import AnnouncementCategory, AnnouncementIndexPage, AnnouncementPage, StandardPage


def home(language="zh-hant"):
    root = Site.objects.get(is_default_site=True).root_page.specific
    if language == root.locale.language_code:
        return root
    return root.get_translation(Locale.objects.get(language_code=language)).specific


def publish(page):
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def index_page(**fields):
    existing = AnnouncementIndexPage.objects.child_of(home()).first()
    if existing:
        return existing
    page = AnnouncementIndexPage(title="最新公告", slug="announcements", **fields)
    home().add_child(instance=page)
    publish(page)
    for code, title in (("zh-hans", "最新公告"), ("en", "Announcements")):
        translation = page.copy_for_translation(Locale.objects.get(language_code=code))
        translation.title = title
        publish(translation)
    return page


def category(slug="roadworks"):
    obj, _ = AnnouncementCategory.objects.get_or_create(
        slug=slug,
        defaults={"name_zh_hant": "道路工程", "name_zh_hans": "道路工程", "name_en": "Road works"},
    )
    return obj


def announcement(
    title="全區暫停供水",
    slug=None,
    summary="星期六全區暫停供水。",
    translations=None,
    communities=(),
    streets=(),
    publish_now=True,
    **fields,
):
    """An announcement in zh-Hant; `translations` = {"en": "English title", ...} adds
    published translations with those titles."""
    parent = index_page()
    if communities:
        fields.setdefault("target", AnnouncementPage.Target.COMMUNITIES)
    if streets:
        fields.setdefault("target", AnnouncementPage.Target.STREETS)
    page = AnnouncementPage(
        title=title,
        slug=slug or f"a-{AnnouncementPage.objects.count() + 1}",
        summary=summary,
        body=[("paragraph", RichText(f"<p>{summary}</p>"))],
        live=publish_now,  # a draft, as the editor's "Save draft" leaves it
        **fields,
    )
    page.communities = list(communities)
    page.streets = list(streets)
    parent.add_child(instance=page)
    if publish_now:
        publish(page)
    for code, translated_title in (translations or {}).items():
        translation = page.copy_for_translation(Locale.objects.get(language_code=code))
        translation.title = translated_title
        translation.summary = f"{translated_title}."
        publish(translation)
    return page


def standard_page(title, slug, language="zh-hant", **fields):
    page = StandardPage(title=title, slug=slug, **fields)
    home(language).add_child(instance=page)
    return publish(page)


def past(**kwargs):
    return timezone.now() - datetime.timedelta(**kwargs)


def future(**kwargs):
    return timezone.now() + datetime.timedelta(**kwargs)
