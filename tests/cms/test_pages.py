"""The public site's pages: page types an editor may add, languages and the fallback,
listings, feeds, the footer, and the page metadata."""

from django.urls import reverse

import pytest
from bs4 import BeautifulSoup

from cms import blocks
from cms.models import (
    AnnouncementIndexPage,
    AnnouncementPage,
    ClinicPage,
    HomePage,
    ServiceGuidePage,
    StandardPage,
)
from tests.cms import factories as cms
from tests.cms.readers import get
from tests.factories import StreetFactory

pytestmark = pytest.mark.django_db


def soup(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.content.decode(), "html.parser")


def test_editors_may_add_every_page_type_under_the_home_page():
    allowed = set(HomePage.allowed_subpage_models())
    assert {AnnouncementIndexPage, ServiceGuidePage, ClinicPage, StandardPage} <= allowed
    assert AnnouncementIndexPage.allowed_subpage_models() == [AnnouncementPage]


def test_the_home_page_exists_in_every_language():
    for code in ("zh-hant", "zh-hans", "en"):
        assert cms.home(code).live


def test_an_announcement_is_shown_in_the_readers_language(client):
    page = cms.announcement(
        title="全區暫停供水", translations={"en": "Water off", "zh-hans": "全区停水"}
    )
    url = page.url
    for language, title in (
        ("zh-hant", "全區暫停供水"),
        ("en", "Water off"),
        ("zh-hans", "全区停水"),
    ):
        html = soup(get(client, url, language))
        assert html.h1.get_text() == title
        assert html.html["lang"] == language
        assert html.select_one(".cms-page")["lang"] == language
        assert "not available in your language" not in html.get_text()


def test_a_page_without_a_translation_falls_back_to_the_original_marked_with_its_language(
    client,
):
    page = cms.announcement(title="只有中文的公告", slug="only-chinese")
    html = soup(get(client, page.url, "en"))
    assert html.html["lang"] == "en"  # the reader's interface stays in English …
    content = html.select_one(".cms-page")
    assert content["lang"] == "zh-hant"  # … the text is marked as what it is
    assert content.h1.get_text() == "只有中文的公告"
    assert "This page is not available in your language yet" in html.get_text()


def test_hreflang_alternates_name_only_the_languages_that_exist(client):
    page = cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    html = soup(get(client, page.url, "en"))
    alternates = {
        link["hreflang"]: link["href"] for link in html.select('link[rel="alternate"][hreflang]')
    }
    assert set(alternates) == {"zh-hant", "en"}
    assert alternates["zh-hant"].endswith(f"{page.url}?lang=zh-hant")
    # The alternate address does serve that language.
    html = soup(
        client.get(alternates["zh-hant"].split("localhost", 1)[-1].split("testserver", 1)[-1])
    )
    assert html.html["lang"] == "zh-hant"
    assert html.h1.get_text() == "全區暫停供水"


def test_the_language_switcher_keeps_the_reader_on_the_translated_page(client):
    page = cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    html = soup(get(client, f"{page.url}?lang=zh-hant", "zh-hant"))
    # The switcher returns to the page's address, without the ?lang= that would override it.
    assert html.select_one('.language-switcher input[name="next"]')["value"] == page.url
    response = client.post(reverse("set_language"), {"language": "en", "next": page.url})
    assert response.status_code == 302 and response["Location"] == page.url
    assert soup(client.get(page.url)).h1.get_text() == "Water off"


def test_an_unknown_lang_parameter_is_ignored(client):
    page = cms.announcement(translations={"en": "Water off"})
    html = soup(get(client, f"{page.url}?lang=xx-evil", "en"))
    assert html.html["lang"] == "en"


def test_the_listing_shows_each_announcement_once_newest_first(client):
    cms.announcement(title="舊公告", slug="old", translations={"en": "Older news"})
    cms.announcement(title="新公告", slug="new")
    html = soup(get(client, cms.index_page().url, "en"))
    titles = [a.get_text() for a in html.select(".cms-announcement__title a")]
    assert titles == ["新公告", "Older news"]
    zh = soup(get(client, cms.index_page().url, "zh-hant"))
    assert [a.get_text() for a in zh.select(".cms-announcement__title a")] == ["新公告", "舊公告"]


def test_an_expired_announcement_leaves_listings_the_home_page_and_the_feed(client):
    kept = cms.announcement(title="仍然有效", slug="kept", expire_at=cms.future(days=1))
    expired = cms.announcement(title="已經過期", slug="expired", expire_at=cms.future(days=1))
    # Past its expiry; the minute task has not unpublished it yet, listings hide it already.
    AnnouncementPage.objects.filter(pk=expired.pk).update(expire_at=cms.past(minutes=1))
    for url in (cms.index_page().url, "/", reverse("cms:feed_rss"), reverse("cms:feed_atom")):
        text = get(client, url, "zh-hant").content.decode()
        assert kept.title in text, url
        assert expired.title not in text, url


def test_urgent_district_announcements_come_first_on_the_home_page(client):
    cms.announcement(title="一般消息", slug="normal")
    cms.announcement(title="緊急停水", slug="urgent", urgent=True)
    html = soup(get(client, "/", "zh-hant"))
    alerts = html.select_one(".cms-alerts")
    assert "緊急停水" in alerts.get_text()
    assert "一般消息" not in alerts.get_text()
    # The alerts come before the welcome.
    assert str(html).index("cms-alerts") < str(html).index("hero")


def test_listing_by_community_includes_its_streets_and_the_district(client):
    street = StreetFactory()
    other = StreetFactory()
    cms.announcement(title="全區", slug="all")
    cms.announcement(title="本社區", slug="community", communities=[street.community])
    cms.announcement(title="本街", slug="street", streets=[street])
    cms.announcement(title="別的街", slug="other", streets=[other])
    url = f"{cms.index_page().url}?community={street.community.code}"
    titles = {
        a.get_text() for a in soup(get(client, url, "zh-hant")).select(".cms-announcement__title a")
    }
    assert titles == {"全區", "本社區", "本街"}
    feed = get(client, f"{reverse('cms:feed_rss')}?community={street.community.code}", "zh-hant")
    assert "本街" in feed.content.decode() and "別的街" not in feed.content.decode()


def test_bad_listing_parameters_show_the_first_page(client):
    cms.announcement(title="全區", slug="all")
    for query in ("?page=abc", "?page=99", "?category=nope", "?community=" + "x" * 500):
        html = soup(get(client, cms.index_page().url + query, "en"))
        assert "全區" in html.get_text()


def test_a_feed_for_an_unknown_community_is_a_404(client):
    assert get(client, reverse("cms:feed_rss") + "?community=nowhere").status_code == 404


def test_feeds_are_in_the_language_asked_for(client):
    cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    rss = client.get(reverse("cms:feed_rss") + "?lang=en").content.decode()
    assert "<language>en</language>" in rss and "Water off" in rss and "全區暫停供水" not in rss
    atom = client.get(reverse("cms:feed_atom") + "?lang=zh-hant").content.decode()
    assert 'xml:lang="zh-hant"' in atom and "全區暫停供水" in atom


def test_every_page_links_the_notices_in_the_footer(client):
    cms.standard_page("無障礙聲明", "accessibility", show_in_footer=True, footer_order=2)
    cms.standard_page("聯絡我們", "contact", show_in_footer=True, footer_order=1)
    en = cms.standard_page("Contact us", "contact", language="en", show_in_footer=True)
    en.translation_key = StandardPage.objects.get(
        slug="contact", locale__language_code="zh-hant"
    ).translation_key
    en.save()
    for url in ("/", reverse("account_login")):
        links = soup(get(client, url, "en")).select(".site-footer__links a")
        assert [(a.get_text(), a.get("lang")) for a in links] == [
            ("Contact us", None),
            ("無障礙聲明", "zh-hant"),
        ]


def test_open_graph_and_canonical_metadata(client):
    page = cms.announcement(title="全區暫停供水", summary="星期六全區暫停供水。")
    html = soup(get(client, page.url, "zh-hant"))
    assert html.select_one('meta[property="og:title"]')["content"] == "全區暫停供水"
    assert html.select_one('meta[property="og:description"]')["content"] == "星期六全區暫停供水。"
    assert html.select_one('meta[property="og:type"]')["content"] == "article"
    assert html.select_one('link[rel="canonical"]')["href"].endswith(page.url)


def test_sitemap_and_robots(client):
    page = cms.announcement(translations={"en": "Water off"})
    sitemap = client.get("/sitemap.xml").content.decode()
    assert page.url in sitemap and 'hreflang="en"' in sitemap
    robots = client.get("/robots.txt").content.decode()
    assert "Disallow: /me/" in robots and "Sitemap: http" in robots


def test_every_block_renders_its_preview_value():
    for name, block in blocks.body_blocks():
        value = block.get_preview_value()
        html = block.render(value)
        assert html.strip() or name in {"image", "document"}, name


def test_the_table_block_marks_its_header_row():
    block = blocks.TableBlock()
    html = BeautifulSoup(block.render(block.get_preview_value()), "html.parser")
    assert [th.get("scope") for th in html.select("thead th")] == ["col", "col"]
    assert len(html.select("tbody tr")) == 2


def test_an_announcement_for_communities_must_name_one(admin_user):
    from wagtail.admin.panels import get_edit_handler

    form_class = get_edit_handler(AnnouncementPage).get_form_class()
    parent = cms.index_page()
    form = form_class(
        data={
            "title": "x",
            "slug": "x",
            "summary": "y",
            "target": "communities",
            "body-count": "0",
            "attachments-TOTAL_FORMS": "0",
            "attachments-INITIAL_FORMS": "0",
        },
        instance=AnnouncementPage(),
        parent_page=parent,
        for_user=admin_user,
    )
    assert not form.is_valid()
    assert "communities" in form.errors
