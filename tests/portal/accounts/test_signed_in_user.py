"""What every signed-in request reads: the session and, joined to it, the user with their
profile and staff flag, in one query whose SQL is built once (portal/accounts/session_store.py,
backends.py). Fewer queries must not mean a staff member escapes two-factor set-up, a closed
session coming back, or a session's user being taken from anywhere but its own data."""

import importlib
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.accounts import roles
from portal.accounts.backends import ModelBackend, offering
from portal.accounts.models import Session
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

MY_PAGE = "/me/"


def _sql(client, path=MY_PAGE):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_signed_in_request_reads_session_user_profile_and_staff_flag_in_one_query(client):
    client.force_login(UserFactory())
    client.get(MY_PAGE)  # the page's own caches warm
    sql = _sql(client)
    session_reads = [s for s in sql if 'FROM "accounts_session"' in s]
    assert len(session_reads) == 1
    read = session_reads[0]
    assert '"auth_user"' in read and '"accounts_profile"' in read and "auth_user_groups" in read
    # No second query for the user, the MFA middleware's staff check, or the profile.
    assert not [s for s in sql if 'FROM "auth_user"' in s]
    assert not [s for s in sql if "auth_user_groups" in s and s != read]
    assert not [s for s in sql if 'FROM "accounts_profile"' in s]


def test_the_session_keeps_its_users_id_from_sign_in_to_sign_out(client):
    user = UserFactory()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    assert Session.objects.get(session_key=key).user_id == user.pk
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()


def test_a_session_without_a_user_has_none():
    session = Session.get_session_store_class()()
    session["anything"] = 1
    session.create()
    assert Session.objects.get(session_key=session.session_key).user_id is None
    assert session.signed_in_user is None


def test_a_session_naming_a_user_deleted_meanwhile_is_saved_without_an_error():
    """A request still running while its user is deleted in another process saves its session
    at the end (its sign-in, say); without a database constraint that is no error (with one,
    Django would retry the INSERT for ever), and the session then signs in nobody."""
    user = UserFactory()
    pk = user.pk
    user.delete()
    store = Session.get_session_store_class()()
    store[SESSION_KEY] = str(pk)
    store.create()  # an INSERT naming the deleted user
    assert Session.objects.get(session_key=store.session_key).user_id == pk
    assert Session.get_session_store_class()(store.session_key).signed_in_user is None


def test_the_stores_user_is_offered_only_when_the_data_names_them():
    user, other = UserFactory(), UserFactory()
    store = Session.get_session_store_class()()
    store[SESSION_KEY] = str(user.pk)
    store.create()
    assert Session.get_session_store_class()(store.session_key).signed_in_user == user
    Session.objects.filter(session_key=store.session_key).update(user=other)
    assert Session.get_session_store_class()(store.session_key).signed_in_user is None


def test_the_session_data_not_the_column_names_the_user(client):
    """A row whose user column says someone else (a bug, a hand edit) signs in nobody else:
    the backend reads the user the session data names, as Django always has."""
    user, other = UserFactory(), UserFactory()
    client.force_login(user)
    client.get(MY_PAGE)
    Session.objects.update(user=other)
    sql = _sql(client)
    assert [s for s in sql if 'FROM "auth_user"' in s]  # the data's user, read by id
    assert client.get(reverse("account_email")).context["user"] == user


def test_a_password_changed_elsewhere_signs_this_session_out(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(MY_PAGE).status_code == 200
    user.set_password("another long passphrase 42")
    user.save()
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_a_deleted_users_session_is_signed_out_not_an_error(client):
    user = UserFactory()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    user.delete()
    assert not Session.objects.filter(session_key=key).exists()  # deleted with the user
    client.cookies["sessionid"] = key
    response = client.get(MY_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_the_move_keeps_live_sessions_signed_in_with_their_user(client):
    """The migration copies Django's live sessions to the portal's table with the user's id;
    an expired one and one whose data cannot be read are not carried over as signed in."""
    user = UserFactory()
    old = DjangoSessionStore()
    old[SESSION_KEY] = str(user.pk)
    old["_auth_user_backend"] = "portal.accounts.backends.ModelBackend"
    old["_auth_user_hash"] = user.get_session_auth_hash()
    old.create()
    expired = DjangoSessionStore()
    expired[SESSION_KEY] = str(user.pk)
    expired.create()
    Old = apps.get_model("sessions", "Session")
    Old.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    tampered = Old.objects.create(
        session_key="x" * 32,
        session_data="not signed data",
        expire_date=timezone.now() + timedelta(hours=1),
    )
    migration = importlib.import_module("portal.accounts.migrations.0004_sessions_with_user")
    schema_editor = SimpleNamespace(connection=connection)
    migration.keep_live_sessions_quietly(apps, schema_editor)
    assert Session.objects.get(session_key=old.session_key).user_id == user.pk
    assert not Session.objects.filter(session_key=expired.session_key).exists()
    assert Session.objects.get(session_key=tampered.session_key).user_id is None
    # Django's table is emptied: nothing signed out later can come back through it.
    assert not Old.objects.exists()
    client.cookies["sessionid"] = old.session_key
    assert client.get(MY_PAGE).status_code == 200
    # Undone, the live sessions go back, as they are.
    client.post(reverse("account_logout"))
    migration.move_live_sessions_back(apps, schema_editor)
    assert set(Old.objects.values_list("session_key", flat=True)) == {tampered.session_key}


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


def test_the_backend_takes_an_offered_user_only_when_it_is_the_one_asked_for(
    django_assert_num_queries,
):
    backend = ModelBackend()
    user, other = UserFactory(), UserFactory()
    offered = backend.get_user(user.pk)
    with offering(offered):
        with django_assert_num_queries(0):
            assert backend.get_user(user.pk) is offered
        with django_assert_num_queries(1):
            assert backend.get_user(other.pk) == other
    with django_assert_num_queries(1):  # offered only inside the block
        assert backend.get_user(user.pk) is not offered


def test_beat_deletes_expired_sessions_and_keeps_live_ones(client, settings):
    from portal.accounts.tasks import clear_expired_sessions

    client.force_login(UserFactory())
    live = client.cookies["sessionid"].value
    other = Client()
    other.force_login(UserFactory())
    expired = other.cookies["sessionid"].value
    Session.objects.filter(session_key=expired).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    clear_expired_sessions()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert "accounts-clear-expired-sessions" in settings.CELERY_BEAT_SCHEDULE
