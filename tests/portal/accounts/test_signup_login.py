import re

from django.core import mail
from django.urls import reverse

import pytest
from allauth.account.models import EmailAddress

from portal.accounts.models import Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signup(client, email="new@example.org", password="a-long-pass-phrase", **extra):
    data = {"email": email, "password1": password, "password2": password, **extra}
    return client.post(reverse("account_signup"), data)


def test_signup_sends_verification_and_login_waits_for_it(client):
    response = signup(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.org"]
    address = EmailAddress.objects.get(email="new@example.org")
    assert not address.verified
    assert Profile.objects.filter(user=address.user).exists()

    # Not verified yet: signing in leads back to the verification page, not into My page.
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new@example.org", "password": "a-long-pass-phrase"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("mypage:index")).status_code == 302

    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.post("/" + path)
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.verified
    assert client.get(reverse("mypage:index")).status_code == 200


def test_signup_remembers_the_language_it_was_made_in(client):
    client.cookies["portal_language"] = "en"
    signup(client, email="english@example.org")
    user = EmailAddress.objects.get(email="english@example.org").user
    assert user.profile.preferred_language == "en"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"email": "x" * 300 + "@example.org"}, "at most 254 characters"),
        ({"password1": "p" * 300, "password2": "p" * 300}, "at most 256 characters"),
        ({"password2": "something-else-entirely"}, "same password"),
        ({"password1": "short", "password2": "short"}, "too short"),
    ],
)
def test_bad_signup_input_is_explained_and_creates_nothing(client, data, message):
    client.cookies["portal_language"] = "en"
    base = {
        "email": "someone@example.org",
        "password1": "a-long-pass-phrase",
        "password2": "a-long-pass-phrase",
    }
    response = client.post(reverse("account_signup"), {**base, **data})
    assert response.status_code == 200
    content = response.content.decode()
    assert "There is a problem" in content
    assert message in content
    assert not EmailAddress.objects.exists()
    assert mail.outbox == []


def test_signup_with_an_existing_email_does_not_create_a_second_account(client):
    UserFactory(email="taken@example.org")
    client.cookies["portal_language"] = "en"
    signup(client, email="taken@example.org")
    assert EmailAddress.objects.filter(email__iexact="taken@example.org").count() == 1


def test_wrong_password_is_a_clear_message(client, resident):
    client.cookies["portal_language"] = "en"
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_password_in_chinese(client, resident):
    client.cookies["portal_language"] = "zh-hant"
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "不正確" in response.content.decode()


def test_login_is_throttled_after_repeated_failures(client, resident, password):
    client.cookies["portal_language"] = "en"
    for _ in range(5):
        client.post(reverse("account_login"), {"login": resident.email, "password": "nope-nope"})
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}
    )
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_logout(client, resident, password):
    response = client.post(
        reverse("account_login"), {"login": resident.email, "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mypage:index")
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("mypage:index")).status_code == 302


def test_password_reset_link_works_once_and_expires(client, resident, settings):
    client.cookies["portal_language"] = "en"
    client.post(reverse("account_reset_password"), {"email": resident.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    # An expired link: a clear message, the password is unchanged.
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.get(path, follow=True)
    assert "password reset link was invalid" in response.content.decode()
    resident.refresh_from_db()
    assert resident.check_password("correct horse battery")

    settings.PASSWORD_RESET_TIMEOUT = 3600
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(
        form_path, {"password1": "a-brand-new-secret", "password2": "a-brand-new-secret"}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.check_password("a-brand-new-secret")


def test_tampered_reset_link_is_rejected(client, resident):
    client.cookies["portal_language"] = "en"
    response = client.get("/accounts/password/reset/key/zz-bogus-token/", follow=True)
    assert response.status_code == 200
    assert "password reset link was invalid" in response.content.decode()
    resident.refresh_from_db()
    assert resident.check_password("correct horse battery")


def test_sign_in_speaks_the_residents_language(client, password):
    user = UserFactory()
    user.profile.preferred_language = "en"
    user.profile.display_name = "Mei Lin"
    user.profile.save()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password}, follow=True
    )
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Successfully signed in as Mei Lin." in html
