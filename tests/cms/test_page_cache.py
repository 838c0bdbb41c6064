"""The public page cache (cms/page_cache.py): anonymous readers get the public site from the
cache, each in their language; signed-in readers never; a publish, an unpublish or an expiry
purges the pages it affects."""

import logging
import re

from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from wagtail.models import PageViewRestriction

import pytest

from cms import page_cache
from cms.models import AnnouncementPage, HomePage
from cms.tasks import publish_scheduled
from tests.cms import factories as cms
from tests.cms.readers import CSRF, HEADER, get, signed_out
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def cached(client, url, language="en"):
    """Ask twice: the second answer is the cached one."""
    first = get(client, url, language)
    assert first.status_code == 200 and first.get(HEADER) == "miss", first.get(HEADER)
    return first


def test_an_anonymous_readers_second_view_comes_from_the_cache_without_a_query(
    client, django_assert_num_queries
):
    announcement = cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    for url in ("/", announcement.url, cms.index_page().url, reverse("cms:feed_rss")):
        first = cached(client, url)
        with django_assert_num_queries(0):
            second = get(client, url)
        assert second.status_code == 200 and second[HEADER] == "hit", url
        assert CSRF.sub("", second.content.decode()) == CSRF.sub("", first.content.decode())
        assert second["Content-Type"] == first["Content-Type"]


def test_each_language_is_cached_apart(client):
    cms.announcement(title="全區暫停供水", translations={"en": "Water off", "zh-hans": "全区停水"})
    for code, text in [("en", "Water off"), ("zh-hant", "全區暫停供水"), ("zh-hans", "全区停水")]:
        get(client, "/", code)
        again = get(client, "/", code)
        assert again[HEADER] == "hit"
        assert f'<html lang="{code}">' in again.content.decode() and text in again.content.decode()
    # ?lang= picks the language for one request, and so its own entry.
    cached(client, "/?lang=zh-hans", "en")
    again = get(client, "/?lang=zh-hans", "en")
    assert again[HEADER] == "hit" and '<html lang="zh-hans">' in again.content.decode()
    assert '<html lang="en">' in get(client, "/", "en").content.decode()


def test_each_reader_gets_their_own_csrf_token_and_the_language_switcher_still_works():
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    get(first, "/")
    hit = get(second, "/")
    assert hit[HEADER] == "hit"
    token = CSRF.search(hit.content.decode()).group(1)
    assert token != CSRF.search(get(first, "/").content.decode()).group(1)
    assert "csrftoken" in hit.cookies  # as on a page rendered for this reader
    switched = second.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert switched.status_code == 302
    assert second.cookies["portal_language"].value == "zh-hans"


def test_signed_in_readers_are_never_served_from_nor_stored_in_the_cache(client):
    anonymous = Client()
    cached(anonymous, "/")  # the anonymous page is in the cache
    client.force_login(UserFactory())
    for _ in range(2):
        response = get(client, "/")
        assert HEADER not in response
        assert "Sign out" in response.content.decode()
        assert "no-store" in response["Cache-Control"]
    # Nor did a signed-in view replace the anonymous entry.
    assert "Sign out" not in get(anonymous, "/").content.decode()


def test_a_reader_with_a_message_waiting_sees_it_not_the_cached_page(client):
    cached(Client(), "/")
    response = signed_out(client)
    assert HEADER not in response
    assert "signed out" in response.content.decode()


def test_unknown_query_parameters_are_not_cached(client):
    for _ in range(2):
        assert HEADER not in get(client, "/?utm_source=newsletter")
    assert get(client, "/?page=2").get(HEADER) == "miss"


def test_publishing_purges_the_listings_the_home_page_and_the_feeds(client):
    index = cms.index_page()
    cms.announcement(title="舊公告", translations={"en": "Old news"})
    community_listing = f"{index.url}?community=nope"
    urls = ["/", index.url, community_listing, reverse("cms:feed_rss"), reverse("cms:feed_atom")]
    for url in urls:
        cached(client, url)
        assert get(client, url)[HEADER] == "hit"

    cached(client, reverse("cms:sitemap"))

    cms.announcement(title="道路封閉", slug="road-closed", translations={"en": "Road closed"})

    for url in urls:
        response = get(client, url)
        assert response[HEADER] == "miss", url
        if url != community_listing:
            assert "Road closed" in response.content.decode(), url
    assert "/road-closed/" in get(client, reverse("cms:sitemap")).content.decode()


def test_publishing_purges_in_every_language(client):
    cms.announcement(title="舊公告", translations={"en": "Old news", "zh-hans": "旧公告"})
    for code in ("en", "zh-hant", "zh-hans"):
        cached(client, "/", code)
    page = cms.announcement(title="道路封閉", translations={"en": "Road closed"})
    assert page.live
    for code, text in [("en", "Road closed"), ("zh-hant", "道路封閉"), ("zh-hans", "道路封閉")]:
        response = get(client, "/", code)
        assert response[HEADER] == "miss" and text in response.content.decode(), code


def test_unpublishing_purges_the_page_and_its_listings(client):
    announcement = cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    english = announcement.get_translation(_locale("en"))
    index = cms.index_page()
    for url in ("/", index.url, reverse("cms:feed_rss"), english.url):
        cached(client, url)

    english.unpublish()
    announcement.refresh_from_db()
    announcement.unpublish()

    assert get(client, english.url).status_code == 404
    for url in ("/", index.url, reverse("cms:feed_rss")):
        assert "Water off" not in get(client, url).content.decode(), url


def test_the_minute_task_purges_what_expired(client):
    announcement = cms.announcement(
        title="全區暫停供水", translations={"en": "Water off"}, expire_at=cms.future(days=1)
    )
    index = cms.index_page()
    urls = ["/", index.url, reverse("cms:feed_rss")]
    for url in urls:
        cached(client, url)
        assert "Water off" in get(client, url).content.decode()
    # Its expiry time comes (the entries were made for a day; the clock moved on).
    AnnouncementPage.objects.filter(translation_key=announcement.translation_key).update(
        expire_at=cms.past(minutes=1)
    )
    assert "Water off" in get(client, "/").content.decode()  # still the cached page

    publish_scheduled()

    assert not AnnouncementPage.objects.filter(pk=announcement.pk, live=True).exists()
    for url in urls:
        response = get(client, url)
        assert response[HEADER] == "miss" and "Water off" not in response.content.decode(), url


def test_an_entry_lasts_only_until_the_next_scheduled_change(settings):
    settings.CMS_PAGE_CACHE_SECONDS = 600
    assert page_cache.lifetime() == 600
    cms.announcement(expire_at=cms.future(seconds=90))
    assert 60 < page_cache.lifetime() <= 91


def test_other_pages_stay_cached_when_an_announcement_is_published(client):
    about = cms.standard_page("Contact us", "contact", language="en")
    cached(client, about.url)
    cms.announcement(title="道路封閉", translations={"en": "Road closed"})
    assert get(client, about.url)[HEADER] == "hit"


def test_the_page_cache_is_off_with_zero_seconds(client, settings):
    settings.CMS_PAGE_CACHE_SECONDS = 0
    for _ in range(2):
        assert HEADER not in get(client, "/")


def _locale(code):
    from wagtail.models import Locale

    return Locale.objects.get(language_code=code)


# Redis frozen: pages are rendered, as without a cache, and nothing waits more than once ------


@pytest.mark.redis
def test_a_frozen_redis_serves_pages_rendered_and_keeps_them_out_of_the_database(
    broker, settings, client, caplog
):
    options = {
        "socket_connect_timeout": settings.REDIS_TIMEOUT_SECONDS,
        "socket_timeout": settings.REDIS_TIMEOUT_SECONDS,
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.CMS_PAGE_CACHE_LOCAL_SECONDS = 0  # every view asks Redis, as after a second
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": broker.url,
            "OPTIONS": options,
            "FALLBACK": "database",
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_pages_test",
        },
        "pages": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": broker.url,
            "KEY_PREFIX": "pages",
            "OPTIONS": options,
        },
    }
    call_command("createcachetable")
    cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    cached(client, "/")
    assert get(client, "/")[HEADER] == "hit"

    broker.freeze()
    with caplog.at_level(logging.WARNING, logger="portal.cache"):
        for _ in range(3):
            response = get(client, "/")
            assert response.status_code == 200 and response.get(HEADER) != "hit"
            assert "Water off" in response.content.decode()  # rendered, as without a cache
    broker.thaw()

    # One call waited for the socket timeout (REDIS_TIMEOUT_SECONDS); the shared breaker sent
    # every later one, of this request and the next, straight on.
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM portal_cache_pages_test")
        keys = [key for (key,) in cursor.fetchall()]
    assert keys, "the default cache fell back to the table"
    assert not [key for key in keys if "cms:page" in key], keys  # pages did not


def test_a_page_whose_template_uses_a_csp_nonce_is_not_stored(client, monkeypatch):
    """Its body names a nonce only its own header allows: replayed, the script would be
    refused. Public templates use none; one that starts to is served uncached, not broken."""
    original = HomePage.page_context

    def with_nonce(self, request):
        str(request.csp_nonce)  # what `{{ request.csp_nonce }}` in a template does
        return original(self, request)

    monkeypatch.setattr(HomePage, "page_context", with_nonce)
    nonces = set()
    for _ in range(2):
        response = get(client, "/")
        assert response.status_code == 200 and HEADER not in response
        nonces.add(re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1))
    assert len(nonces) == 2


def test_a_page_behind_a_password_is_not_cached(client):
    announcement = cms.announcement(title="內部通告", translations={"en": "Staff only"})
    english = announcement.get_translation(_locale("en"))
    for page in (announcement, english):
        PageViewRestriction.objects.create(
            page=page, restriction_type=PageViewRestriction.PASSWORD, password="secret"
        )
    for _ in range(2):
        response = get(client, english.url)
        assert HEADER not in response and "Staff only" not in response.content.decode()


def test_another_process_sees_a_purge_once_its_memory_of_the_page_expires(client, settings):
    cached(client, "/")
    assert get(client, "/")[HEADER] == "hit"  # from the cache, and now this process's memory
    # Another process publishes: new generation in the shared cache, our memory untouched.
    caches["pages"].set(page_cache.SITE_GENERATION, "from-another-process", timeout=None)
    assert get(client, "/")[HEADER] == "hit"  # for at most CMS_PAGE_CACHE_LOCAL_SECONDS
    settings.CMS_PAGE_CACHE_LOCAL_SECONDS = 0  # ... which have passed
    assert get(client, "/")[HEADER] == "miss"
