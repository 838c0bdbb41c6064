"""Browser test: a resident books on a 360 px phone, gets the e-mail with its .ics, cancels
and rebooks. axe-core checks every page on the way (fixtures shared with tests/e2e)."""

from django.core import mail

import pytest

from health.booking.models import Appointment, AppointmentStatus
from portal.notifications.services import sweep_outbox
from tests.factories import UserFactory

from .factories import ClinicFactory, ServiceFactory, SlotFactory, tomorrow_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_book_receive_ics_cancel_and_rebook(page):
    service = ServiceFactory(code="vaccination", name_en="Vaccination")
    clinic = ClinicFactory(services=[service], name_en="Harbour Health Centre")
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10), capacity=1)
    SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11), capacity=1)
    resident = UserFactory(email="mei@example.org")
    page.sign_in(resident)

    page.visit("/clinics/")
    page.assert_fits()
    page.click("text=Vaccination")
    page.wait_for_selector("text=Harbour Health Centre")
    page.check_accessibility()
    page.assert_fits()
    page.click("a.button:has-text('Choose a time')")
    page.wait_for_selector(".slot-list")
    page.check_accessibility()
    page.assert_fits()
    page.click("text=Book 10:00")
    page.wait_for_selector("text=Check and confirm")
    page.check_accessibility()
    page.assert_fits()
    page.click("text=Confirm booking")
    page.wait_for_selector(".check-in-card")
    page.check_accessibility()
    page.assert_fits()

    appointment = Appointment.objects.get(resident=resident)
    assert appointment.check_in_code in page.inner_text(".check-in-card")
    assert page.locator(".check-in-card svg").count() == 1

    # The outbox delivers the confirmation (no worker in tests: run the sweep ourselves).
    sweep_outbox()
    [email] = [m for m in mail.outbox if resident.email in m.to]
    assert appointment.check_in_code in email.body
    (filename, content, mimetype), _qr_png = email.attachments
    ics = content if isinstance(content, str) else content.decode()
    assert filename.endswith(".ics") and mimetype.startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics and "DTSTART:" in ics

    # The other resident pages pass axe and fit a phone too.
    page.visit(f"/clinics/appointments/{appointment.pk}/reschedule/")
    page.assert_fits()
    assert page.locator("button:has-text('Move to 11:00')").count() == 1
    page.visit("/clinics/appointments/")
    page.assert_fits()
    page.visit("/clinics/waitlist/")
    page.visit("/clinics/household/")
    page.assert_fits()
    page.fill("#id_name", "Grandpa Wong")
    page.fill("#id_date_of_birth", "2999-01-01")
    page.click("text=Add to household")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    assert "future" in page.inner_text(".error-summary")
    page.fill("#id_date_of_birth", "1941-05-06")
    page.select_option("#id_relationship", "parent")
    page.click("text=Add to household")
    page.wait_for_selector("text=has been added")
    page.check_accessibility()
    page.visit(f"/clinics/appointments/{appointment.pk}/")

    page.click("text=Cancel appointment")
    page.wait_for_selector("text=Yes, cancel it")
    page.check_accessibility()
    page.click("text=Yes, cancel it")
    page.wait_for_selector("text=The appointment is cancelled")
    page.check_accessibility()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED

    page.click("text=Book another time")
    page.wait_for_selector(".slot-list")
    page.click("text=Book 10:00")
    page.click("text=Confirm booking")
    page.wait_for_selector(".check-in-card")
    rebooked = Appointment.objects.get(resident=resident, status=AppointmentStatus.BOOKED)
    assert rebooked.slot_id == slot.pk and rebooked.pk != appointment.pk
