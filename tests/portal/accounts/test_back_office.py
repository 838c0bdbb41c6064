"""Staff land where they work (issue 12): the back office after sign-in, a link between it and
My page, a dashboard panel of what they can do today, and an admin that calls no outside
service."""

import re

from django.urls import reverse

import pytest
from allauth.mfa.models import Authenticator

from portal.accounts import roles
from tests.browser import current_totp_code
from tests.factories import StaffFactory, UserFactory, with_totp

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def sign_in(client, user, password, next_url=None):
    data = {"login": user.email, "password": password}
    url = reverse("account_login") + (f"?next={next_url}" if next_url else "")
    response = client.post(url, data)
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        assert response["Location"] == reverse("mfa_authenticate")
        response = client.post(reverse("mfa_authenticate"), {"code": current_totp_code(SECRET)})
    return response


@pytest.mark.parametrize("group", [roles.EDITORS, roles.CLINIC_STAFF, roles.CASE_OFFICERS])
def test_staff_land_in_the_back_office(client, password, group):
    staff = with_totp(StaffFactory(groups=[group]), SECRET)
    response = sign_in(client, staff, password)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_superuser_lands_in_the_back_office(client, password):
    admin = with_totp(StaffFactory(is_superuser=True, is_staff=True), SECRET)
    assert sign_in(client, admin, password)["Location"] == "/admin/"


def test_residents_land_on_my_page(client, resident, password):
    assert sign_in(client, resident, password)["Location"] == "/me/"


def test_next_still_wins_for_staff_and_residents(client, resident, password):
    staff = with_totp(StaffFactory(groups=[roles.EDITORS]), SECRET)
    assert sign_in(client, staff, password, next_url="/me/")["Location"] == "/me/"
    client.logout()
    assert sign_in(client, resident, password, next_url="/inbox/")["Location"] == "/inbox/"


def test_staff_see_a_link_to_the_back_office_and_back(client, password):
    staff = with_totp(StaffFactory(groups=[roles.CLINIC_STAFF]), SECRET)
    sign_in(client, staff, password)
    client.cookies["portal_language"] = "en"
    my_page = client.get("/me/").content.decode()
    assert re.search(r'<a href="/admin/">Back office</a>', my_page)
    admin = client.get("/admin/").content.decode()
    # The sidebar menu (drawn from JSON) has "My page".
    assert (
        '"label": "My page", "icon_name": "home", "classname": "", "attrs": {}, "url": "/me/"'
        in admin
    )


def test_residents_see_no_back_office_link(client, resident, password):
    sign_in(client, resident, password)
    client.cookies["portal_language"] = "en"
    assert "Back office" not in client.get("/me/").content.decode()


def today_panel(client):
    from bs4 import BeautifulSoup

    client.cookies["portal_language"] = "en"
    html = client.get("/admin/").content.decode()
    panel = BeautifulSoup(html, "html.parser").select_one("#staff-today-section")
    assert panel is not None, "no 'What you can do today' panel on the dashboard"
    return panel


def test_editor_dashboard_says_what_they_can_do_today(client):
    editor = with_totp(StaffFactory(groups=[roles.EDITORS]))
    client.force_login(editor)
    panel = today_panel(client)
    text = panel.get_text(" ", strip=True)
    assert "What you can do today" in text
    assert "Editors" in text
    links = {a.get_text(strip=True): a["href"] for a in panel.select("a")}
    assert links["Write and publish pages"].startswith("/admin/pages/")
    assert links["Images"] == "/admin/images/"
    assert links["Documents"] == "/admin/documents/"
    assert "Your account" in links
    for href in links.values():
        assert client.get(href).status_code == 200, href


def test_case_officer_dashboard_says_what_they_can_do_today(client):
    officer = with_totp(StaffFactory(groups=[roles.CASE_OFFICERS]))
    client.force_login(officer)
    panel = today_panel(client)
    text = panel.get_text(" ", strip=True)
    assert "Case officers" in text
    # Nothing of an editor's: officers cannot write pages.
    assert "Write and publish pages" not in text
    assert "Nothing waits for your role in the back office yet" in text
    assert "Your account" in text


def test_other_apps_add_to_the_dashboard_and_a_failing_one_is_left_out(client):
    from wagtail import hooks

    from portal.accounts.dashboard import TodayItem

    def cases_today(request):
        return [TodayItem("Work the case queue", "/admin/cases/", "New applications.", count=3)]

    def broken_today(request):
        raise RuntimeError("boom")

    officer = with_totp(StaffFactory(groups=[roles.CASE_OFFICERS]))
    client.force_login(officer)
    with hooks.register_temporarily(
        [("register_staff_today", cases_today), ("register_staff_today", broken_today)]
    ):
        text = today_panel(client).get_text(" ", strip=True)
    assert "Work the case queue" in text
    assert "3 waiting" in text
    assert "Nothing waits for your role" not in text


# What a browser fetches by itself (links a person may follow, such as the user guide, are not
# calls): images, scripts, stylesheets, and URLs handed to Wagtail's scripts.
OUTSIDE = re.compile(
    r"""(?:\bsrc|<link[^>]*\bhref|data-[\w-]+-url(?:-value)?)=["'](?:https?:)?//"""
)


def test_the_admin_makes_no_outside_calls(client):
    """No avatar service and no release check: the back office runs on a closed network."""
    admin = with_totp(StaffFactory(is_superuser=True, is_staff=True))
    UserFactory()
    client.force_login(admin)
    for path in ("/admin/", "/admin/users/", "/admin/account/", f"/admin/users/{admin.pk}/"):
        html = client.get(path).content.decode()
        assert "gravatar" not in html, path
        assert 'data-controller="w-upgrade' not in html, path
        assert "releases.wagtail" not in html, path
        assert not OUTSIDE.findall(html), (path, OUTSIDE.findall(html)[:5])
