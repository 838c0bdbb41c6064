"""The page cache's per-process memory answers before the address is resolved
(cms/page_cache.py, PublicPageCacheMiddleware): still per language, still never for a signed-in
reader or one with a message waiting, still emptied by a purge, and each reader still gets
their own CSRF token, one that Django's CSRF check accepts."""

from django.core.cache import caches
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CSRF_TOKEN_LENGTH,
    _unmask_cipher_token,
)
from django.test import Client, RequestFactory
from django.urls import reverse

import pytest

from cms import page_cache
from tests.cms import factories as cms
from tests.cms.readers import CSRF, HEADER, get, signed_out
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def in_memory(client, url, language="en"):
    """Ask three times: rendered and stored, then from the shared cache (and so into this
    process's memory); the third answer comes from the memory."""
    assert get(client, url, language)[HEADER] == "miss"
    assert get(client, url, language)[HEADER] == "hit"
    assert page_cache._local, "the hit was not kept in this process's memory"
    return get(client, url, language)


def test_a_page_in_memory_is_served_without_a_query_nor_resolving_the_address(
    client, django_assert_num_queries, monkeypatch
):
    cms.announcement(title="全區暫停供水", translations={"en": "Water off"})
    first = get(client, "/")
    assert get(client, "/")[HEADER] == "hit"

    def no_resolving(*args, **kwargs):
        raise AssertionError("the address was resolved for a page held in memory")

    monkeypatch.setattr("django.urls.resolvers.URLResolver.resolve", no_resolving)
    with django_assert_num_queries(0):
        third = get(client, "/")
    assert third.status_code == 200 and third[HEADER] == "hit"
    assert "Water off" in third.content.decode()
    assert CSRF.sub("", third.content.decode()) == CSRF.sub("", first.content.decode())
    # Every middleware above the cache still ran on the answer.
    assert third["Content-Security-Policy"] == first["Content-Security-Policy"]
    assert third["Content-Language"] == "en" and third["X-Frame-Options"]
    assert third["Content-Length"] == str(len(third.content))


def test_memory_keeps_languages_apart(client):
    cms.announcement(title="全區暫停供水", translations={"en": "Water off", "zh-hans": "全区停水"})
    in_memory(client, "/", "en")
    for code, text in [("zh-hant", "全區暫停供水"), ("zh-hans", "全区停水"), ("en", "Water off")]:
        response = get(client, "/", code)
        assert f'<html lang="{code}">' in response.content.decode(), code
        assert text in response.content.decode(), code


def test_a_signed_in_reader_is_never_served_from_memory(client):
    anonymous = Client()
    assert "Sign out" not in in_memory(anonymous, "/").content.decode()
    client.force_login(UserFactory())
    for _ in range(2):
        response = get(client, "/")
        assert HEADER not in response
        assert "Sign out" in response.content.decode()
        assert "no-store" in response["Cache-Control"]


def test_a_reader_with_a_message_waiting_is_not_served_from_memory(client):
    in_memory(Client(), "/")
    response = signed_out(client)
    assert HEADER not in response
    assert "signed out" in response.content.decode()


def test_a_purge_empties_the_memory(client):
    cms.announcement(title="舊公告", translations={"en": "Old news"})
    assert "Old news" in in_memory(client, "/").content.decode()
    cms.announcement(title="道路封閉", slug="road-closed", translations={"en": "Road closed"})
    response = get(client, "/")
    assert response[HEADER] == "miss" and "Road closed" in response.content.decode()


def test_an_entry_only_in_the_shared_cache_is_not_served_for_an_address_routed_elsewhere(
    client,
):
    """Only this process's memory answers before routing: an entry in the shared cache under
    the key of an address that is not a cached view (left by an older release, say) is never
    served."""
    rf = RequestFactory().get("/accounts/login/")
    key = page_cache.entry_key(rf, "en")
    lookup = page_cache.Lookup(rf, key)
    assert lookup.fetch() is None  # starts the generations
    caches["pages"].set(
        key,
        {
            "generations": lookup.generations,
            "status": 200,
            "headers": [("Content-Type", "text/html; charset=utf-8")],
            "content": b"<p>stale</p>",
            "csrf": False,
        },
    )
    for _ in range(2):
        response = get(client, "/accounts/login/")
        assert HEADER not in response and b"stale" not in response.content


def test_each_reader_with_a_csrf_cookie_gets_a_new_token_for_that_cookie_and_it_passes():
    reader = Client(enforce_csrf_checks=True)
    rendered = get(reader, "/")
    secret = reader.cookies["csrftoken"].value
    assert _unmask_cipher_token(CSRF.search(rendered.content.decode()).group(1)) == secret
    tokens = set()
    for _ in range(3):
        hit = get(reader, "/")
        assert hit[HEADER] == "hit"
        token = CSRF.search(hit.content.decode()).group(1)
        assert len(token) == CSRF_TOKEN_LENGTH and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret  # the reader's own secret, masked anew
        tokens.add(token)
    assert len(tokens) == 3
    assert reader.cookies["csrftoken"].value == secret  # the cookie is renewed, not replaced
    switched = reader.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert switched.status_code == 302
    assert reader.cookies["portal_language"].value == "zh-hans"


def test_a_new_reader_from_memory_gets_a_new_secret_in_the_cookie_and_the_token_passes():
    in_memory(Client(), "/")
    readers = [Client(enforce_csrf_checks=True) for _ in range(2)]
    secrets = []
    for reader in readers:
        hit = get(reader, "/")
        assert hit[HEADER] == "hit"
        secret = hit.cookies["csrftoken"].value
        assert len(secret) == CSRF_SECRET_LENGTH and set(secret) <= set(CSRF_ALLOWED_CHARS)
        token = CSRF.search(hit.content.decode()).group(1)
        assert _unmask_cipher_token(token) == secret
        secrets.append(secret)
        switched = reader.post(
            reverse("set_language"),
            {"language": "en", "next": "/", "csrfmiddlewaretoken": token},
        )
        assert switched.status_code == 302
    assert secrets[0] != secrets[1]
    # Another reader's token is refused.
    stranger = Client(enforce_csrf_checks=True)
    get(stranger, "/")
    refused = stranger.post(
        reverse("set_language"), {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert refused.status_code == 403


def test_other_addresses_pass_by_the_memory_without_a_key_being_worked_out(client, monkeypatch):
    in_memory(client, "/")

    def no_key(*args, **kwargs):
        raise AssertionError("a key was worked out for an address the memory does not hold")

    monkeypatch.setattr(page_cache, "entry_key", no_key)
    assert client.get("/favicon.ico").status_code == 301


def test_the_memory_forgets_its_oldest_entries_and_their_paths(monkeypatch):
    monkeypatch.setattr(page_cache, "LOCAL_MAX_ENTRIES", 2)
    for number in range(3):
        page_cache.local_put(f"key-{number}", f"entry-{number}", f"/page-{number}/")
    assert page_cache.local_get("key-0") is None and not page_cache.held_locally("/page-0/")
    assert page_cache.local_get("key-2") == "entry-2" and page_cache.held_locally("/page-2/")
    page_cache.local_put("key-2", "entry-2 again", "/page-2/")  # the same key, put again
    page_cache.local_put("key-3", "entry-3", "/page-3/")
    assert page_cache.held_locally("/page-2/") and not page_cache.held_locally("/page-1/")
    page_cache.forget_local()
    assert not page_cache.held_locally("/page-2/") and page_cache.local_get("key-2") is None
