from django.urls import reverse

from wagtail import hooks

import pytest

from portal.mypage.models import PanelLayout
from portal.mypage.panels import Panel

pytestmark = pytest.mark.django_db


class BrokenPanel(Panel):
    slug = "broken"
    title = "Broken panel"
    order = 5

    def render(self, request):
        raise RuntimeError("backend down")


class ExtraPanel(Panel):
    slug = "extra"
    title = "Extra panel"
    order = 50

    def render(self, request):
        return "<p>extra content</p>"


@pytest.fixture
def extra_panels():
    with hooks.register_temporarily("register_mypage_panel", lambda: ExtraPanel()):
        yield


def panel_ids(html):
    import re

    return re.findall(r'<section class="panel[^"]*" id="panel-([\w-]+)"', html)


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/me/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/me/"


def test_my_page_shows_the_profile_panel(resident_client, resident):
    resident_client.cookies["portal_language"] = "en"
    html = resident_client.get("/me/").content.decode()
    assert "My profile" in html
    assert resident.email in html
    assert "Verified" in html


def test_a_failing_panel_is_isolated(resident_client, caplog):
    resident_client.cookies["portal_language"] = "en"
    with hooks.register_temporarily("register_mypage_panel", lambda: BrokenPanel()):
        response = resident_client.get("/me/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This information is unavailable right now" in html
    assert "My profile" in html  # the rest still renders
    assert "backend down" in caplog.text
    assert "backend down" not in html


def test_hide_and_show_a_panel(resident_client, resident, extra_panels):
    response = resident_client.post(reverse("mypage:layout"), {"panel": "extra", "action": "hide"})
    assert response.status_code == 302
    html = resident_client.get("/me/").content.decode()
    assert "extra" not in panel_ids(html)
    assert "extra content" not in html
    assert PanelLayout.objects.get(user=resident).hidden == ["extra"]
    resident_client.post(reverse("mypage:layout"), {"panel": "extra", "action": "show"})
    assert "extra" in panel_ids(resident_client.get("/me/").content.decode())


def test_reorder_panels(resident_client, extra_panels):
    def order():
        return panel_ids(resident_client.get("/me/").content.decode())

    default = order()
    assert default[0] == "profile"
    position = default.index("extra")
    resident_client.post(reverse("mypage:layout"), {"panel": "extra", "action": "up"})
    moved = order()
    assert moved.index("extra") == position - 1
    assert sorted(moved) == sorted(default)
    resident_client.post(reverse("mypage:layout"), {"panel": "extra", "action": "down"})
    assert order() == default
    # The first panel cannot move further up; the page offers no such button.
    html = resident_client.get("/me/").content.decode()
    assert 'value="up"' not in html.split('id="panel-profile"')[1].split("</section>")[0]


def test_layouts_are_per_user(client, extra_panels):
    from tests.factories import UserFactory

    alice, bob = UserFactory(), UserFactory()
    client.force_login(alice)
    client.post(reverse("mypage:layout"), {"panel": "extra", "action": "hide"})
    client.force_login(bob)
    assert "extra" in panel_ids(client.get("/me/").content.decode())


@pytest.mark.parametrize(
    "data",
    [
        {"panel": "no-such-panel", "action": "hide"},
        {"panel": "profile", "action": "explode"},
        {},
        {"panel": "x" * 5000, "action": "up"},
    ],
)
def test_bad_layout_changes_are_refused(resident_client, resident, data):
    resident_client.cookies["portal_language"] = "en"
    response = resident_client.post(reverse("mypage:layout"), data, follow=True)
    assert response.status_code == 200
    assert "could not be made" in response.content.decode()
    assert not PanelLayout.objects.filter(user=resident).exists()


def test_layout_change_needs_post_and_login(client):
    assert (
        client.post(reverse("mypage:layout"), {"panel": "profile", "action": "hide"}).status_code
        == 302
    )
    assert not PanelLayout.objects.exists()


def test_query_count_is_bounded(resident_client, django_assert_max_num_queries):
    resident_client.get("/me/")
    with django_assert_max_num_queries(20):
        assert resident_client.get("/me/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_quick_clicks_never_fail(extra_panels):
    """A double click: both requests find no layout yet; both must succeed, one after another."""
    import threading

    from django.db import connection
    from django.test import Client

    from tests.factories import UserFactory

    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: PostgreSQL")
    user = UserFactory()
    results, barrier = [], threading.Barrier(2)

    def click(action):
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            results.append(
                client.post(
                    reverse("mypage:layout"), {"panel": "extra", "action": action}
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(a,)) for a in ("hide", "down")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [302, 302]
    assert PanelLayout.objects.filter(user=user).count() == 1
    assert PanelLayout.objects.get(user=user).hidden == ["extra"]


# Panel media ------------------------------------------------------------------------------------
class StyledPanel(Panel):
    slug = "styled"
    title = "Styled panel"
    order = 60

    class Media:
        css = {"all": ["booking/panel.css", "css/extra-panel.css"]}
        js = ["js/extra-panel.js"]

    def render(self, request):
        return "<p>styled</p>"


class MissingAsset:
    """A script whose tag cannot be written, as a file missing from the static manifest."""

    def __html__(self):
        raise ValueError("Missing staticfiles manifest entry for 'gone.js'")


class MissingMediaPanel(Panel):
    slug = "missing-media"
    title = "Panel with a missing file"
    order = 70

    class Media:
        js = [MissingAsset()]

    def render(self, request):
        return "<p>never shown</p>"


def test_my_page_includes_each_panels_media_once(resident_client):
    with hooks.register_temporarily("register_mypage_panel", lambda: StyledPanel()):
        html = resident_client.get("/me/").content.decode()
    head, body = html.split("</head>")
    # Booking's panel and this one both declare booking/panel.css: it is linked once, in the head.
    assert head.count('href="/static/booking/panel.css"') == 1
    assert 'href="/static/css/extra-panel.css"' in head
    assert body.count('<script src="/static/js/extra-panel.js"></script>') == 1
    assert "panel.css" not in body


def test_a_hidden_panels_media_is_left_out(resident_client, resident):
    PanelLayout.objects.create(user=resident, hidden=["styled"])
    with hooks.register_temporarily("register_mypage_panel", lambda: StyledPanel()):
        html = resident_client.get("/me/").content.decode()
    assert "extra-panel" not in html


def test_booking_panel_declares_its_stylesheet(resident_client):
    from health.booking.panels import NextAppointmentsPanel

    assert "booking/panel.css" in str(NextAppointmentsPanel().media)
    html = resident_client.get("/me/").content.decode()
    assert 'href="/static/booking/panel.css"' in html.split("</head>")[0]


def test_a_panel_whose_media_cannot_be_found_fails_alone(resident_client, caplog):
    resident_client.cookies["portal_language"] = "en"
    with hooks.register_temporarily("register_mypage_panel", lambda: MissingMediaPanel()):
        response = resident_client.get("/me/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="panel-missing-media"' in html and "never shown" not in html
    assert "This information is unavailable right now" in html
    assert "gone.js" in caplog.text
