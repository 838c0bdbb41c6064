"""What every signed-in request reads: the session, then the user with their staff flag, in two
queries whose SQL is built once (portal/accounts/session_store.py, backends.py). Fewer queries
must not mean a staff member escapes two-factor set-up, nor a closed session coming back."""

from datetime import timedelta
from unittest import mock

from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.accounts import roles
from portal.accounts.backends import ModelBackend
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MY_PAGE = "/me/"


def test_a_signed_in_request_reads_session_and_user_with_the_staff_flag_in_two_queries(client):
    client.force_login(UserFactory())
    client.get(MY_PAGE)  # the page's own caches warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(MY_PAGE).status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    session_reads = [s for s in sql if 'FROM "django_session"' in s]
    user_reads = [s for s in sql if 'FROM "auth_user"' in s]
    assert len(session_reads) == 1 and len(user_reads) == 1
    assert f'"{roles.STAFF_GROUP_FLAG}"' in user_reads[0] and '"accounts_profile"' in user_reads[0]
    # No second query for the staff check of the MFA middleware, nor for the profile.
    assert not [s for s in sql if "auth_user_groups" in s and s not in user_reads]
    assert not [s for s in sql if 'FROM "accounts_profile"' in s]


def test_a_role_given_while_signed_in_counts_from_the_next_request(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(MY_PAGE).status_code == 200
    user.groups.add(Group.objects.get_or_create(name=roles.CLINIC_STAFF)[0])
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    user.groups.clear()
    assert client.get(MY_PAGE).status_code == 200


def test_staff_signed_in_through_allauth_are_held_to_two_factor(client, password):
    nurse = StaffFactory(clinic_staff=True)
    client.post(reverse("account_login"), {"login": nurse.email, "password": password})
    assert client.session["_auth_user_backend"] == "portal.accounts.backends.AuthenticationBackend"
    assert client.get(MY_PAGE)["Location"] == reverse("mfa_activate_totp")


def test_a_deactivated_account_is_signed_out_at_its_next_request(client):
    user = UserFactory()
    client.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_an_expired_session_is_not_read(client):
    client.force_login(UserFactory())
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_this_servers_clock_decides_when_a_session_has_expired(client, settings):
    client.force_login(UserFactory())
    assert client.get(MY_PAGE).status_code == 200
    later = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    with mock.patch("portal.accounts.session_store.timezone.now", return_value=later):
        response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_a_signed_out_session_stays_signed_out(client):
    client.force_login(UserFactory())
    cookie = client.cookies["sessionid"].value
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=cookie).exists()
    client.cookies["sessionid"] = cookie  # the old cookie, replayed
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    # Nor does the replayed key become a session again (no fixation).
    assert not Session.objects.filter(session_key=cookie).exists()


def test_roles_of_the_signed_in_user_are_answered_from_the_flag_read_with_them(
    django_assert_num_queries,
):
    backend = ModelBackend()
    resident, nurse = UserFactory(), StaffFactory(clinic_staff=True)
    resident, nurse = backend.get_user(resident.pk), backend.get_user(nurse.pk)
    with django_assert_num_queries(0):  # in no staff group: in none of them
        assert not roles.is_staff_member(resident)
        assert not roles.has_role(resident, roles.CLINIC_STAFF)
    assert roles.is_staff_member(nurse)
    assert roles.has_role(nurse, roles.CLINIC_STAFF) and not roles.has_role(nurse, roles.EDITORS)
