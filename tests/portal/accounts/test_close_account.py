"""Close my account (issue 12): password (and authenticator code) again, a page that says
plainly what happens, then everything the closure rules say, every session ended, a confirming
e-mail; the same e-mail address can sign up again."""

from datetime import timedelta

from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest
from allauth.account.models import EmailAddress

from health.booking.models import AppointmentStatus, WaitlistEntry, WaitlistStatus
from health.fhir.models import AuditEvent, PatientLink
from portal.accounts import roles
from portal.accounts.closure import _rules, register_closure_rule
from portal.accounts.models import Profile
from portal.mypage.models import PanelLayout
from portal.notifications.models import Message
from tests.browser import current_totp_code
from tests.factories import StaffFactory, UserFactory, with_totp
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    ServiceFactory,
    SlotFactory,
)
from tests.portal.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def sign_in(client, user, password):
    client.cookies["portal_language"] = "en"
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    return client


def reauthenticate(client, password, code=None):
    data = {"password": password}
    if code is not None:
        data["code"] = code
    return client.post(reverse("account_close"), data)


def test_closing_asks_for_the_password_again(resident_client, resident):
    resident_client.cookies["portal_language"] = "en"
    response = reauthenticate(resident_client, "not my password")
    assert response.status_code == 200
    assert "That is not your password." in response.content.decode()
    # Without step 1 the confirmation page sends back to it.
    response = resident_client.post(reverse("account_close_confirm"))
    assert response["Location"] == reverse("account_close")
    resident.refresh_from_db()
    assert resident.is_active and resident.email


def test_closing_asks_for_the_authenticator_code_where_set(client, resident, password):
    with_totp(resident, SECRET)
    # Signed in already (with a code a while ago: allauth refuses a code used twice).
    client.force_login(resident)
    client.cookies["portal_language"] = "en"
    response = reauthenticate(client, password)
    assert "This field is required." in response.content.decode()
    response = reauthenticate(client, password, "000000")
    assert "That code is not right" in response.content.decode()
    response = reauthenticate(client, password, current_totp_code(SECRET))
    assert response["Location"] == reverse("account_close_confirm")


def test_close_my_account(client, password, django_capture_on_commit_callbacks):
    resident = UserFactory(email="mei@example.org")
    resident.profile.display_name = "Mei"
    resident.profile.preferred_language = "en"  # the last e-mail is in the resident's language
    resident.profile.save()
    PanelLayout.objects.create(user=resident, order=["inbox"])
    MessageFactory(user=resident, subject="Hello", body="A message")
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    upcoming = AppointmentFactory(resident=resident, slot=slot)
    waiting = UserFactory()
    WaitlistEntry.objects.create(slot=slot, resident=waiting)
    past_slot = SlotFactory(
        clinic=clinic, service=service, start=timezone.now() - timedelta(days=3)
    )
    past = AppointmentFactory(resident=resident, slot=past_slot, status=AppointmentStatus.COMPLETED)
    PatientLink.objects.create(user=resident, patient_id="p-1")
    AuditEvent.objects.create(
        occurred_at=timezone.now(),
        user=resident,
        actor="Mei",
        role="resident",
        action="read",
        patient_id="p-1",
    )
    other_browser = sign_in(Client(), resident, password)
    sign_in(client, resident, password)

    response = reauthenticate(client, password)
    assert response["Location"] == reverse("account_close_confirm")
    page = client.get(reverse("account_close_confirm")).content.decode()
    for sentence in (
        "Your sign-in details (e-mail address, password, two-factor authentication) and your "
        "profile are erased",
        "Your inbox and your notification preferences are erased.",
        "Your upcoming clinic appointment is cancelled, and its place is offered to the people "
        "waiting for it.",
        "Your health record stays with your clinic, as the law requires",
        "We send a last e-mail to confirm",
    ):
        assert sentence in page, sentence
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_close_confirm"), follow=True)
    assert "Your account is closed" in response.content.decode()

    resident.refresh_from_db()
    assert not resident.is_active and resident.email == ""
    assert not resident.has_usable_password()
    assert not Profile.objects.filter(user=resident).exists()
    assert not EmailAddress.objects.filter(user=resident).exists()
    assert not Message.objects.filter(user=resident).exists()
    assert not PanelLayout.objects.filter(user=resident).exists()
    assert not PatientLink.objects.filter(user=resident).exists()
    assert AuditEvent.objects.filter(patient_id="p-1").count() == 1  # the trail is kept
    upcoming.refresh_from_db()
    assert upcoming.status == AppointmentStatus.CANCELLED
    past.refresh_from_db()
    assert past.status == AppointmentStatus.COMPLETED
    # The usual waitlist offer went out to the person waiting.
    assert WaitlistEntry.objects.get(resident=waiting).status == WaitlistStatus.OFFERED
    assert Message.objects.filter(user=waiting).exists()

    # Every session ended, the confirmation e-mail sent, no sign-in any more.
    assert client.get("/me/").status_code == 302
    assert other_browser.get("/me/").status_code == 302
    closing = [m for m in mail.outbox if m.to == ["mei@example.org"]]
    assert len(closing) == 1
    assert "closed" in closing[0].subject
    assert any(m.to == [waiting.email] for m in mail.outbox)  # the usual waitlist offer
    response = Client().post(
        reverse("account_login"), {"login": "mei@example.org", "password": password}
    )
    assert response.status_code == 200

    # The same address can sign up again later.
    fresh = Client()
    fresh.cookies["portal_language"] = "en"
    response = fresh.post(
        reverse("account_signup"),
        {
            "email": "mei@example.org",
            "password1": "a-new-long-phrase",
            "password2": "a-new-long-phrase",
        },
    )
    assert response.status_code == 302
    assert EmailAddress.objects.filter(email="mei@example.org").count() == 1


def test_an_app_registers_what_happens_to_its_objects(resident_client, password):
    @register_closure_rule("test-cases", order=45)
    class CasesOnClosure:
        def describe(self, user):
            return ["Your open case stays with the office, which will write to you by post."]

        def apply(self, user, now):
            raise RuntimeError("cannot close yet")

    try:
        resident_client.cookies["portal_language"] = "en"
        reauthenticate(resident_client, password)
        page = resident_client.get(reverse("account_close_confirm")).content.decode()
        assert "Your open case stays with the office" in page
        with pytest.raises(RuntimeError):
            resident_client.post(reverse("account_close_confirm"))
    finally:
        del _rules["test-cases"]


def test_a_failing_rule_changes_nothing(resident, password):
    from portal.accounts import services

    @register_closure_rule("test-broken", order=5)
    class Broken:
        def describe(self, user):
            return []

        def apply(self, user, now):
            PanelLayout.objects.create(user=user)
            raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError):
            services.close_account(resident)
    finally:
        del _rules["test-broken"]
    resident.refresh_from_db()
    assert resident.is_active and resident.email
    assert not PanelLayout.objects.filter(user=resident).exists()


def test_staff_cannot_close_their_own_account(client):
    nurse = StaffFactory(groups=[roles.CLINIC_STAFF], mfa=True)
    client.force_login(nurse)
    client.cookies["portal_language"] = "en"
    assert "closed by an administrator" in client.get(reverse("account_close")).content.decode()
