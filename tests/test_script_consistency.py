"""No Traditional-only characters on zh-Hans pages, no Simplified-only ones on zh-Hant pages.

Across the pages the browser tests visit, signed out, as a resident and as staff, including
the forms' error messages. User data is excluded: text marked `translate="no"` (names, e-mail
addresses) and the values this test typed itself. Our own catalogues are checked whole.
"""

import re
from pathlib import Path

from django.urls import reverse

import pytest
from bs4 import BeautifulSoup

from portal.accounts import roles
from tests.chinese_script import wrong_script
from tests.factories import StaffFactory, UserFactory

LOCALE = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ["zh-hans", "zh-hant"]


def visible_text(html, user_data=()):
    soup = BeautifulSoup(html, "html.parser")
    for element in soup(["script", "style", "template"]):
        element.decompose()
    page_language = soup.html.get("lang", "")
    for element in soup.select('[translate="no"]'):
        element.decompose()
    # Text in another language, marked so (the switcher's 简体中文 on a zh-Hant page).
    for element in soup.select("[lang]"):
        if element.name != "html" and element.get("lang") != page_language:
            element.decompose()
    text = soup.get_text(" ")
    for value in user_data:
        text = text.replace(value, " ")
    return text


def check(response, language, user_data=()):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert f'lang="{language}"' in html
    return wrong_script(visible_text(html, user_data), language)


@pytest.mark.parametrize("language", ["zh_Hant", "zh_Hans"])
def test_our_catalogues_are_in_one_script(language):
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
    msgstrs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"$', text, flags=re.M)
    problems = wrong_script("\n".join(msgstrs), language.replace("_", "-").lower())
    assert problems == []


PUBLIC_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
RESIDENT_PAGES = [
    "/me/",
    "/accounts/profile/",
    "/accounts/settings/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/sessions/",
    "/inbox/",
    "/health/",
    "/clinics/",
]
STAFF_PAGES = ["/admin/", "/accounts/settings/"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_are_in_one_script(client, language, password):
    client.cookies["portal_language"] = language
    problems = {}
    for path in PUBLIC_PAGES:
        problems[path] = check(client.get(path), language)

    # The forms' own messages: a sign-up with a too-short password, a wrong sign-in.
    data = {"email": "new@example.org", "password1": "short", "password2": "short"}
    problems["sign-up error"] = check(client.post(reverse("account_signup"), data), language)
    data = {"login": "nobody@example.org", "password": "wrong-password"}
    problems["sign-in error"] = check(client.post(reverse("account_login"), data), language)

    resident = UserFactory()
    resident.profile.preferred_language = language
    resident.profile.display_name = "Mei"
    resident.profile.save()
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}, follow=True
    )
    problems["signed in"] = check(response, language)
    for path in RESIDENT_PAGES:
        problems[path] = check(client.get(path), language, [resident.email])
    client.logout()

    staff = StaffFactory(groups=[roles.EDITORS], mfa=True)
    client.force_login(staff)
    client.cookies["portal_language"] = language  # logout() cleared the cookies
    for path in STAFF_PAGES:
        problems[f"staff {path}"] = check(client.get(path), language, [staff.email])
    assert {page: found for page, found in problems.items() if found} == {}
