from django.contrib.auth.models import Group
from django.urls import reverse

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from portal.accounts import roles
from tests.factories import StaffFactory, StreetFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_profile_form_saves_and_switches_language(resident_client, resident):
    street = StreetFactory()
    response = resident_client.post(
        reverse("profile_edit"),
        {
            "display_name": "陳大文",
            "phone": "+852 9123-4567",
            "street": street.pk,
            "preferred_language": "en",
            "notify_email": "on",
            "notify_sms": "on",
        },
    )
    assert response.status_code == 302
    profile = resident.profile
    profile.refresh_from_db()
    assert profile.display_name == "陳大文"
    assert profile.phone == "+85291234567"
    assert profile.community == street.community
    assert profile.notify_sms
    assert response.cookies["portal_language"].value == "en"


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"display_name": "x" * 200}, "display_name", "at most 80 characters"),
        ({"phone": "call me maybe"}, "phone", "8 to 15 digits"),
        ({"phone": "1" * 40}, "phone", "at most 20 characters"),
        ({"notify_sms": "on", "phone": ""}, "phone", "to receive text messages"),
        ({"street": "999999"}, "street", "Select a valid choice"),
        ({"street": "'; DROP TABLE"}, "street", "Select a valid choice"),
        ({"preferred_language": "xx-evil"}, "preferred_language", "Select a valid choice"),
    ],
)
def test_bad_profile_input_is_explained_and_changes_nothing(
    resident_client, resident, data, field, message
):
    resident_client.cookies["portal_language"] = "en"
    before = resident.profile.__dict__.copy()
    base = {"display_name": "Valid Name", "preferred_language": "zh-hant", "notify_email": "on"}
    response = resident_client.post(reverse("profile_edit"), {**base, **data})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert message in html
    assert f'href="#id_{field}"' in html  # the summary links to the field
    resident.profile.refresh_from_db()
    assert resident.profile.display_name == before["display_name"]
    assert resident.profile.phone == before["phone"]


def test_profile_page_needs_login(client):
    response = client.get(reverse("profile_edit"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_language_switch_sets_cookie_and_profile(resident_client, resident):
    response = resident_client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/me/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/me/"
    assert response.cookies["portal_language"].value == "zh-hans"
    resident.profile.refresh_from_db()
    assert resident.profile.preferred_language == "zh-hans"
    page = resident_client.get("/me/")
    assert '<html lang="zh-hans">' in page.content.decode()


def test_tampered_language_code_changes_nothing(resident_client, resident):
    resident_client.cookies["portal_language"] = "en"
    response = resident_client.post(
        reverse("set_language"), {"language": "../../etc/passwd", "next": "/me/"}, follow=True
    )
    assert response.status_code == 200
    assert "That language is not available" in response.content.decode()
    assert resident_client.cookies["portal_language"].value == "en"
    resident.profile.refresh_from_db()
    assert resident.profile.preferred_language == "zh-hant"


def test_language_switch_refuses_offsite_redirect(client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_language_switch_is_post_only(client):
    assert client.get(reverse("set_language")).status_code == 405


def test_preferred_language_applies_without_cookie(client):
    user = UserFactory()
    user.profile.preferred_language = "en"
    user.profile.save()
    client.force_login(user)
    assert '<html lang="en">' in client.get("/me/").content.decode()


def test_staff_groups_exist_with_admin_access():
    for name in roles.STAFF_GROUPS:
        group = Group.objects.get(name=name)
        assert group.permissions.filter(codename="access_admin").exists()


def test_staff_without_mfa_are_sent_to_set_it_up(client, password):
    nurse = StaffFactory(clinic_staff=True)
    response = client.post(reverse("account_login"), {"login": nurse.email, "password": password})
    assert response["Location"] == "/admin/"  # staff land in the back office...
    for path in ("/admin/", "/me/", "/admin/pages/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    # Setting up MFA asks for the password again (allauth's reauthentication), then shows the QR.
    response = client.get(reverse("mfa_activate_totp"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": password})
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_staff_with_mfa_reach_the_admin(client):
    editor = StaffFactory(editor=True)
    TOTP.activate(editor, generate_totp_secret())
    client.force_login(editor)
    assert client.get("/admin/").status_code == 200


def test_residents_are_not_asked_for_mfa_and_cannot_enter_admin(resident_client):
    assert resident_client.get("/me/").status_code == 200
    response = resident_client.get("/admin/")
    assert response.status_code in (302, 403)
    assert not Authenticator.objects.exists()


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"
    response = client.get("/admin/")
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "data, headers, expected",
    [
        ({"next": "foo"}, {}, "/"),
        ({}, {"HTTP_REFERER": "foo"}, "/"),
        ({"next": "mypage:index"}, {}, "/"),
        ({"next": "/me/\n"}, {}, "/"),
        ({"next": "//evil.example/"}, {}, "/"),
        ({}, {"HTTP_REFERER": "http://testserver/clinics/?service=2"}, "/clinics/?service=2"),
        ({"next": "/me/"}, {"HTTP_REFERER": "foo"}, "/me/"),
    ],
)
def test_language_switch_goes_back_to_a_path_on_this_site(client, data, headers, expected):
    """`next=foo` or `Referer: foo` was a 500 (redirect() took it for a URL name), even
    signed out; now only a path on this site is followed, else the home page."""
    response = client.post(reverse("set_language"), {"language": "en", **data}, **headers)
    assert response.status_code == 302
    assert response["Location"] == expected
    assert response.cookies["portal_language"].value == "en"


@pytest.mark.parametrize("name", ["Mei\nLin", "Mei\x00", "Mei\x1b[31m", "Mei\ufffd", "Mei\rLin"])
def test_display_name_refuses_characters_nobody_can_read(resident_client, resident, name):
    resident_client.cookies["portal_language"] = "en"
    response = resident_client.post(
        reverse("profile_edit"),
        {"display_name": name, "preferred_language": "zh-hant", "notify_email": "on"},
    )
    assert response.status_code == 200
    assert "The name contains characters that cannot be read" in response.content.decode()
    resident.profile.refresh_from_db()
    assert resident.profile.display_name == ""


def test_street_form_with_a_tampered_community_is_a_form_error(client):
    """Wagtail's chooser widget redrew the form by looking up 'abc' as an id: a 500."""
    from portal.accounts.models import Street
    from tests.factories import CommunityFactory, with_totp

    admin = with_totp(StaffFactory(is_superuser=True, is_staff=True))
    client.force_login(admin)
    client.cookies["portal_language"] = "en"
    CommunityFactory()
    url = reverse("wagtailsnippets_accounts_street:add")
    for community in ("abc", "1.5", "-1", "99999999999999999999999", "\x00"):
        response = client.post(
            url,
            {
                "name_zh_hant": "新街",
                "name_zh_hans": "新街",
                "name_en": "New Street",
                "community": community,
            },
        )
        assert response.status_code == 200, community
        html = response.content.decode()
        assert "The street could not be created due to errors" in html
        assert "Select a valid choice" in html or "Null characters are not allowed" in html
    assert not Street.objects.filter(name_en="New Street").exists()
