"""My page cached whole per resident (portal/mypage/views.py, panels.page_key()): a return
visit reads no panel's data, its CSRF token is the visitor's own, nothing of one resident
reaches another, and every change that affects the page shows on the next visit: a panel's
data, the layout, a message to show once, the footer, whether the connected-apps panel
applies, favourite stops; departures with favourites are rendered on every visit."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.middleware.csrf import CSRF_SESSION_KEY, _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext

from wagtail import hooks

import pytest
from bs4 import BeautifulSoup

from health.fhir.models import PatientLink
from portal.mypage.panels import Panel
from tests.cms import factories as cms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user, csrf_checks=False):
    client = Client(enforce_csrf_checks=csrf_checks)
    client.cookies["portal_language"] = "en"
    client.force_login(user)
    return client


def page(client):
    response = client.get("/me/")
    assert response.status_code == 200
    return response.content.decode()


def visit(client):
    """(html, the SQL of the visit)."""
    with CaptureQueriesContext(connection) as captured:
        html = page(client)
    return html, " ".join(q["sql"] for q in captured.captured_queries)


def tokens(html):
    fields = BeautifulSoup(html, "html.parser").select("[name=csrfmiddlewaretoken]")
    return {field["value"] for field in fields}


def secret_of(client):
    """The CSRF secret of this browser (cookie-based unless CSRF_USE_SESSIONS)."""
    if settings.CSRF_USE_SESSIONS:
        return client.session[CSRF_SESSION_KEY]
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def test_a_return_visit_reads_no_panel_and_is_the_same_page():
    user = UserFactory()
    client = signed_in(user)
    first = page(client)
    with CaptureQueriesContext(connection) as captured:
        second = page(client)
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    # Only what every signed-in page reads: the session, and the user with their staff check
    # and profile (portal/accounts/backends.py); the profile is read nowhere else.
    assert len(captured) <= 2
    assert 'FROM "accounts_profile"' not in sql
    for table in ("mypage_panellayout", "smart_connection", "transit_"):
        assert table not in sql
    # The same page but for its CSRF tokens (masked anew on every visit).
    for token in tokens(first) | tokens(second):
        first, second = first.replace(token, ""), second.replace(token, "")
    assert first == second
    assert "mypage-" not in second  # no placeholder left


def test_the_cached_page_carries_each_visitors_own_csrf_token():
    alice, bob = UserFactory(), UserFactory()
    alice_client, bob_client = signed_in(alice, True), signed_in(bob, True)
    page(alice_client), page(bob_client)
    for client in (alice_client, bob_client):
        html = page(client)  # from the cache
        found = tokens(html)
        assert found and {_unmask_cipher_token(t) for t in found} == {secret_of(client)}
    assert secret_of(alice_client) != secret_of(bob_client)
    # The token of the cached page is accepted: hide a panel with it.
    token = next(iter(tokens(page(alice_client))))
    response = alice_client.post(
        "/me/layout/", {"action": "hide", "panel": "inbox", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_nothing_of_one_resident_reaches_another_through_the_page():
    alice, bob = UserFactory(), UserFactory()
    alice.profile.display_name = "Alice Wong"
    alice.profile.save()
    bob.profile.display_name = "Bob Lee"
    bob.profile.save()
    alice_client, bob_client = signed_in(alice), signed_in(bob)
    for _ in range(2):
        alice_page, bob_page = page(alice_client), page(bob_client)
        assert "Alice Wong" in alice_page and "Bob Lee" not in alice_page
        assert "Bob Lee" in bob_page and "Alice Wong" not in bob_page
    # Same id again in another database life is another resident (the key holds when the
    # account was made), so a cached page never outlives its account.
    get_user_model().objects.filter(pk=alice.pk).update(
        date_joined=alice.date_joined.replace(year=2001)
    )
    alice.refresh_from_db()
    assert "Alice Wong" in page(signed_in(alice))


def test_the_layout_and_its_message_show_on_the_next_visit():
    client = signed_in(UserFactory())
    assert 'id="panel-inbox"' in page(client)
    page(client)  # cached
    client.post("/me/layout/", {"action": "hide", "panel": "inbox"})
    after = page(client)
    assert 'id="panel-inbox"' not in after
    assert "The panel is hidden." in after  # a message is shown once, never cached
    assert "The panel is hidden." not in page(client)


def test_the_footer_follows_a_published_page():
    client = signed_in(UserFactory())
    assert "Accessibility" not in page(client)
    page(client)  # cached
    cms.standard_page("Accessibility", "accessibility", language="en", show_in_footer=True)
    footer = BeautifulSoup(page(client), "html.parser").select(".site-footer a")
    assert "Accessibility" in [a.get_text() for a in footer]


def test_the_back_office_link_follows_the_session():
    client = signed_in(UserFactory())
    assert "Back office" not in page(client)
    page(client)  # cached
    session = client.session
    session["portal_staff"] = True
    session.save()
    assert "Back office" in page(client)


class AskedPanel(Panel):
    """Not cached, with an `is_shown` of its own: it must be asked on every visit."""

    slug = "asked"
    title = "Asked"
    calls = 0

    def is_shown(self, request):
        AskedPanel.calls += 1
        return True

    def render(self, request):
        return "<p>asked</p>"


class LivePanel(Panel):
    """Not cached: rendered on every visit, inside the cached page."""

    slug = "live"
    title = "Live"
    text = "first"

    def render(self, request):
        return f"<p>{LivePanel.text}</p>"


def test_a_panel_whose_is_shown_is_asked_each_visit_keeps_the_page_uncached():
    client = signed_in(UserFactory())
    with hooks.register_temporarily("register_mypage_panel", lambda: AskedPanel()):
        page(client), page(client)
    assert AskedPanel.calls == 2


def test_an_uncached_panel_is_rendered_on_every_visit_of_a_cached_page():
    client = signed_in(UserFactory())
    with hooks.register_temporarily("register_mypage_panel", lambda: LivePanel()):
        assert "<p>first</p>" in page(client)
        LivePanel.text = "second"
        html, sql = visit(client)
        assert "<p>second</p>" in html and "mypage_panellayout" not in sql  # the rest cached
    assert 'id="panel-live"' not in page(client)  # the page follows the panels registered


def test_a_failed_panel_is_not_kept_in_the_page(monkeypatch):
    from portal.accounts.wagtail_hooks import ProfilePanel

    client = signed_in(UserFactory())
    original = ProfilePanel.get_context_data
    monkeypatch.setattr(ProfilePanel, "get_context_data", lambda self, request: 1 / 0)
    assert "This information is unavailable right now." in page(client)
    monkeypatch.setattr(ProfilePanel, "get_context_data", original)
    assert "This information is unavailable right now." not in page(client)


def test_a_record_link_shows_the_connected_apps_panel_on_the_next_visit():
    user = UserFactory()
    client = signed_in(user)
    assert "Connected health apps" not in page(client)
    page(client)  # cached, with the panel's "not shown"
    link = PatientLink.objects.create(user=user, patient_id="p-cache-1")
    assert "Connected health apps" in page(client)
    link.delete()
    assert "Connected health apps" not in page(client)


def stored_pages(monkeypatch):
    """The keys of whole pages My page stores from now on."""
    from portal.mypage import views

    keys, inside = [], []  # a backend's set_many() may call its own set(): noted once

    def spy(name, keys_of):
        real = getattr(views.cache, name)

        def noting(first, *args, **kwargs):
            if not inside:
                keys.extend(key for key in keys_of(first) if key.startswith("mypage:page:"))
            inside.append(name)
            try:
                return real(first, *args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(views.cache, name, noting)

    spy("set", lambda key: [key])
    spy("set_many", list)  # a page is stored with the fragments of its time
    return keys


def test_an_address_with_a_query_string_is_never_stored(monkeypatch):
    # My page takes no parameters: otherwise every made-up query string would be one more
    # whole page in the cache.
    client = signed_in(UserFactory())
    keys = stored_pages(monkeypatch)
    for n in range(3):
        assert client.get(f"/me/?n={n}").status_code == 200
    assert keys == []
    page(client)
    assert len(keys) == 1  # the plain address is stored, as before


def test_no_whole_page_is_stored_while_redis_is_away(monkeypatch):
    from django.core.cache import cache

    breaker = getattr(cache, "breaker", None)
    if breaker is None:
        pytest.skip("the embedded cache has no Redis breaker")
    client = signed_in(UserFactory())
    keys = stored_pages(monkeypatch)
    breaker.trip(ConnectionError("test: Redis away"))
    try:
        page(client)
        page(client)
        assert keys == []  # nothing went to the fallback table
    finally:
        breaker.reset()
    page(client)
    assert len(keys) == 1


def test_a_first_visit_looks_up_nothing_under_the_generation_it_made(monkeypatch):
    """A visit that finds no generation of the resident's (none made yet, or evicted) makes
    one: nothing can be stored under it yet, so neither their layout, the panels shown, the
    unread count nor any fragment is looked up; what they compute is stored with the fresh
    fragments and the page, one call per cache time, and serves the next page that needs it
    (the inbox's header count: no COUNT)."""
    from django.core.cache import cache

    from portal.mypage import panels

    user = UserFactory()
    client = signed_in(user)
    cache.delete(panels.GENERATION_KEY.format(user.pk))  # made when the account was saved
    looked_up, stored = [], []
    inside = []  # a backend's set_many() may call its own set(): one call is counted once

    def spy(name, keys_of, calls):
        method = getattr(cache, name)

        def wrapper(*args, **kwargs):
            if not inside:
                calls.append(keys_of(args[0]))
            inside.append(name)
            try:
                return method(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(cache, name, wrapper)

    spy("get", lambda key: [key], looked_up)
    spy("get_many", list, looked_up)
    spy("set", lambda key: [key], stored)
    spy("set_many", list, stored)
    page(client)
    monkeypatch.undo()
    resident = [key for keys in looked_up for key in keys if "mypage:value:" in key]
    fragments = [key for keys in looked_up for key in keys if "mypage:panel:" in key]
    assert resident == [] and fragments == []
    batches = [keys for keys in stored if any("mypage:value:" in key for key in keys)]
    values = {key.split(":")[2] for keys in batches for key in keys if "mypage:value:" in key}
    assert {"layout", "unread"} <= values
    # Stored with the fragments of their cache time: one call per time (5 minutes, 1 minute).
    assert len(batches) <= 2
    assert all(any("mypage:panel:" in key for key in keys) for keys in batches)
    assert any("mypage:page:" in key for keys in batches for key in keys)  # the page too
    assert not any("mypage:page:" in key for keys in stored if keys not in batches for key in keys)
    generation = panels.generation(user)
    layout = [k for keys in batches for k in keys if ":layout:" in k]
    assert layout and all(generation in key for key in layout)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/inbox/").status_code == 200
    assert not any("COUNT(" in q["sql"] and "read_at" in q["sql"] for q in captured)
