import re

from django.core import mail

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def english(page):
    page.visit("/")
    page.use_language("en")
    assert page.inner_text("h1") == "Welcome to the District Portal"


def test_sign_up_verify_and_use_my_page(page):
    english(page)
    page.assert_fits()

    page.click("text=Create an account")
    page.check_accessibility()
    page.fill("#id_email", "mei@example.org")
    page.fill("#id_password1", "a long pass phrase")
    page.fill("#id_password2", "a different phrase")
    page.click("main form button[type=submit]")
    # A mistake is summarised above the form and linked to the field.
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    assert "same password" in page.inner_text(".error-summary")
    page.fill("#id_password1", "a long pass phrase")
    page.fill("#id_password2", "a long pass phrase")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")
    page.check_accessibility()

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.visit("/" + link.split("://", 1)[1].split("/", 1)[1])
    page.click("main form button[type=submit]")
    page.wait_for_url("**/me/")
    page.check_accessibility()
    page.assert_fits()
    assert "mei@example.org" in page.inner_text("#panel-profile")

    # Fill in the profile, then switch the language: My page follows.
    page.click("text=Edit profile")
    page.check_accessibility()
    page.fill("#id_display_name", "Mei")
    page.fill("#id_phone", "call me maybe")
    page.click("text=Save profile")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    assert "8 to 15 digits" in page.inner_text(".error-summary")
    # The summary links to the field with the problem.
    page.click(".error-summary a")
    assert page.evaluate("document.activeElement.id") == "id_phone"
    page.fill("#id_phone", "+852 9123 4567")
    page.click("text=Save profile")
    page.wait_for_url(re.compile(r"/me/(#.*)?$"))
    assert "Mei" in page.inner_text("#panel-profile")

    page.select_option("#language-select", "zh-hant")
    page.click("form.language-switcher button")
    page.wait_for_selector('html[lang="zh-hant"]')
    page.check_accessibility()
    assert "我的頁面" in page.inner_text("h1")

    # Hide the profile panel, then bring it back.
    page.click("#panel-profile button[value=hide]")
    page.wait_for_selector("#hidden-panels-title")
    page.check_accessibility()
    assert page.query_selector("#panel-profile") is None
    page.click(".hidden-panels button[value=show]")
    page.wait_for_selector("#panel-profile")


def test_wrong_password_then_sign_in_by_keyboard(page):
    user = UserFactory(email="kb@example.org")
    english(page)
    page.visit("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", "not the password")
    page.keyboard.press("Enter")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    assert "not correct" in page.inner_text(".error-summary")

    # Keyboard only: the skip link comes first, then the form is reachable with Tab.
    page.visit("/accounts/login/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    page.focus("#id_login")
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/me/")
    page.check_accessibility()


def test_public_pages_fit_a_phone(page):
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        page.visit(path)
        page.assert_fits()
