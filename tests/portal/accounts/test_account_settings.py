"""Security settings can be found (issue 12): My page's profile panel and the profile page
link to one account-settings page that gathers them and says what each is."""

from django.test import Client
from django.urls import reverse

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.django_db


def soup(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser")


def test_my_page_and_the_profile_page_link_to_account_settings(resident_client):
    resident_client.cookies["portal_language"] = "en"
    panel = soup(resident_client.get("/me/")).select_one("#panel-profile")
    assert panel.find("a", href=reverse("account_settings"), string="Account settings")
    profile = soup(resident_client.get(reverse("profile_edit")))
    assert profile.find("a", href=reverse("account_settings"))


def test_account_settings_gathers_each_setting_with_what_it_is(resident_client, resident):
    resident_client.cookies["portal_language"] = "en"
    page = soup(resident_client.get(reverse("account_settings")))
    assert page.h1.get_text(strip=True) == "Account settings"
    items = {item.h2.get_text(strip=True): item for item in page.select(".settings-list__item")}
    expected = {
        "Two-factor authentication": reverse("mfa_index"),
        "Change password": reverse("account_change_password"),
        "E-mail addresses": reverse("account_email"),
        "Signed-in sessions": reverse("usersessions_list"),
    }
    for title, url in expected.items():
        item = items[title]
        assert item.h2.a["href"] == url
        sentence = item.p.get_text(" ", strip=True)
        assert len(sentence.split()) >= 8, f"{title}: no sentence saying what it is"
        assert resident_client.get(url).status_code in (200, 302), url  # 302: reauthenticate
    assert resident.email in items["E-mail addresses"].get_text()
    assert "Off" in items["Two-factor authentication"].get_text()


def test_account_settings_needs_sign_in(client):
    response = client.get(reverse("account_settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_signed_in_sessions_are_listed_and_others_can_be_signed_out(resident, password):
    phone, laptop = Client(HTTP_USER_AGENT="Phone browser"), Client(HTTP_USER_AGENT="Laptop")
    for browser in (phone, laptop):
        browser.cookies["portal_language"] = "en"
        response = browser.post(
            reverse("account_login"), {"login": resident.email, "password": password}
        )
        assert response.status_code == 302
    page = soup(phone.get(reverse("usersessions_list")))
    text = page.get_text(" ", strip=True)
    assert "Phone browser" in text and "Laptop" in text
    phone.post(reverse("usersessions_list"))  # "Sign out other sessions"
    assert phone.get("/me/").status_code == 200
    assert laptop.get("/me/").status_code == 302  # signed out
