"""Words and languages (issue 12): the glossary's terms on the account pages, through our own
catalogue overrides where allauth's and Django's catalogues are wrong."""

from django.urls import reverse

import pytest
from bs4 import BeautifulSoup

from tests.factories import StreetFactory, UserFactory

pytestmark = pytest.mark.django_db


def text_of(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser").get_text(" ", strip=True)


def test_zh_hans_sign_up_error_is_simplified(client):
    client.cookies["portal_language"] = "zh-hans"
    data = {"email": "new@example.org", "password1": "short", "password2": "short"}
    text = text_of(client.post(reverse("account_signup"), data))
    assert "密码太短，必须至少有 10 个字符。" in text
    assert "密碼" not in text


def test_zh_hant_sign_in_message_reads_naturally(client, password):
    user = UserFactory()
    user.profile.display_name = "陳大文"
    user.profile.preferred_language = "zh-hant"
    user.profile.save()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password}, follow=True
    )
    text = text_of(response)
    assert "已以 陳大文 的身份登入。" in text
    assert ".." not in text


@pytest.mark.parametrize(
    "language, wanted, unwanted",
    [
        (
            "zh-hant",
            ["雙重認證", "驗證器應用程式"],
            ["二階段認證", "雙重驗證", "authenticator", "Authenticator"],
        ),
        (
            "zh-hans",
            ["双重认证", "验证器应用"],
            ["双因素", "双重身份验证", "两步验证", "身份验证器"],
        ),
    ],
)
def test_one_name_for_two_factor_authentication(resident_client, language, wanted, unwanted):
    resident_client.cookies["portal_language"] = language
    text = " ".join(
        text_of(resident_client.get(path))
        for path in ("/me/", reverse("account_settings"), reverse("mfa_index"))
    )
    for term in wanted:
        assert term in text
    for term in unwanted:
        assert term not in text, term


def test_zh_hans_email_pages_say_电子邮件地址(resident_client):
    resident_client.cookies["portal_language"] = "zh-hans"
    text = text_of(resident_client.get(reverse("account_email")))
    assert "电子邮件地址" in text
    assert "Email地址" not in text


def test_the_switcher_names_each_language_in_itself(client):
    for language in ("zh-hant", "zh-hans", "en"):
        client.cookies["portal_language"] = language
        page = BeautifulSoup(client.get("/").content.decode(), "html.parser")
        options = {
            o["value"]: (o.get_text(strip=True), o["lang"])
            for o in page.select("#language-select option")
        }
        assert options == {
            "zh-hant": ("繁體中文", "zh-hant"),
            "zh-hans": ("简体中文", "zh-hans"),
            "en": ("English", "en"),
        }


def test_addresses_and_lists_use_full_width_punctuation(resident_client, resident):
    street = StreetFactory(name_zh_hant="海旁道", community__name_zh_hant="海濱社區")
    profile = resident.profile
    profile.street = street
    profile.notify_sms = True
    profile.phone = "+85291234567"
    profile.save()
    resident_client.cookies["portal_language"] = "zh-hant"
    panel = text_of(resident_client.get("/me/"))
    assert "海旁道，海濱社區" in panel
    assert "收件匣、電郵、短訊" in panel
    resident_client.cookies["portal_language"] = "en"
    panel = text_of(resident_client.get("/me/"))
    assert f"{street.name_en}, {street.community.name_en}" in panel
