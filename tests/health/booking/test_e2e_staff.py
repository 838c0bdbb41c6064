"""Browser test of the clinic's side on a 360 px phone: a nurse signs in with password and TOTP,
opens the day list of their clinic and service in the Wagtail admin, checks a patient in by
typing the code (keyboard only), marks one patient absent and one seen, watches the day's
counts follow, and is refused another clinic's list. axe-core checks every page on the way."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from health.booking.conf import local_midnight
from health.booking.models import AppointmentStatus
from tests.factories import StaffFactory, UserFactory

from .conftest import ensure_clinic_staff_role
from .factories import AppointmentFactory, ClinicFactory, ServiceFactory, SlotFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def resident(name):
    user = UserFactory()
    user.profile.display_name = name
    user.profile.save()
    return user


def assert_form_fits(page, width=360):
    """Every visible field, label and button of the edit form lies within the phone's width.
    (Wagtail's edit views keep a closed side panel off-canvas, so <main> is wider on purpose.)"""
    page.assert_fits(width)
    outside = page.evaluate(
        """(width) => Array.from(document.querySelectorAll(
            'main form input:not([type=hidden]), main form select, main form textarea,'
            + ' main form label, main form button'))
          .filter(e => e.getClientRects().length && !e.closest('.form-side'))
          .filter(e => e.getBoundingClientRect().right > width + 0.5)
          .map(e => e.id || e.name || e.textContent.trim())""",
        width,
    )
    assert outside == [], f"{page.url}: cut off at {width}px: {outside}"


def message_shown(page, text=None):
    page.admin_message_shown(text)
    page.check_accessibility()
    page.assert_admin_fits()


def day_counts(page):
    """The day's counts as {label: number}, read from the page as a sighted user would."""
    counts = {}
    for item in page.locator(".booking-counts li").all_inner_texts():
        label, _sep, rest = item.partition(":")
        counts[label.strip()] = int(rest.split()[0])
    return counts


def test_nurse_runs_the_clinic_day_with_password_and_totp(page):
    general = ServiceFactory(code="general", name_en="General practice")
    vaccination = ServiceFactory(code="vaccination", name_en="Vaccination")
    clinic = ClinicFactory(services=[general, vaccination], name_en="Harbour Health Centre")
    other = ClinicFactory(services=[general], name_en="Hillside Health Centre")

    ensure_clinic_staff_role()
    nurse = StaffFactory(email="nurse@example.org", clinic_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(nurse, secret)
    clinic.staff.add(nurse)

    # Three patients in this morning's general session (started, so absence can be recorded),
    # one for another service, and one at another clinic.
    now = timezone.now()
    start = max(now - timedelta(minutes=30), local_midnight(timezone.localdate(now)))
    session = SlotFactory(clinic=clinic, service=general, start=start, capacity=3)
    arriving = AppointmentFactory(slot=session, resident=resident("Chan Tai Man"))
    absent = AppointmentFactory(slot=session, resident=resident("Lee Siu Mei"))
    seen = AppointmentFactory(slot=session, resident=resident("Wong Ka Ho"))
    AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=vaccination, start=start),
        resident=resident("Vaccination Visitor"),
    )
    foreign = AppointmentFactory(
        slot=SlotFactory(clinic=other, service=general, start=start),
        resident=resident("Foreign Patient"),
    )

    # Password first, then the authenticator code (allauth's second stage) by keyboard.
    page.sign_in(nurse, totp_secret=secret)

    # The day list opens on the staff member's clinic, today; narrow it to one service.
    page.visit(reverse("booking_day_list"))
    page.assert_admin_fits()
    assert "Harbour Health Centre" in page.inner_text("header")
    assert "Vaccination Visitor" in page.inner_text("main")
    page.select_option("#day-service", label="General practice")
    page.click(".booking-day-filter button[type=submit]")
    page.wait_for_url(f"**service={general.pk}**")
    page.check_accessibility()
    page.assert_admin_fits()
    listing = page.inner_text("main")
    assert "Vaccination Visitor" not in listing and "Foreign Patient" not in listing
    assert {"Chan Tai Man", "Lee Siu Mei", "Wong Ka Ho"} <= set(
        page.locator(".booking-row__patient").all_inner_texts()
    )
    assert day_counts(page)["Booked"] == 3
    assert day_counts(page)["Checked in"] == 0

    # Check-in, keyboard only: the code box has the focus when the list opens; type the code
    # as the patient reads it (lower case, with a space), Tab to the button, Enter.
    assert page.evaluate("document.activeElement.id") == "id_code"
    code = arriving.check_in_code
    page.keyboard.type(f"{code[:4].lower()} {code[4:].lower()}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Check in"
    page.keyboard.press("Enter")
    message_shown(page, "Chan Tai Man is checked in")
    arriving.refresh_from_db()
    assert arriving.status == AppointmentStatus.CHECKED_IN
    counts = day_counts(page)
    assert (counts["Booked"], counts["Checked in"]) == (2, 1)

    # A wrong code is a clear message on the same page, and changes nothing.
    page.focus("#id_code")
    page.keyboard.type("NOPE1234")
    page.keyboard.press("Enter")
    message_shown(page, "NOPE1234")
    assert day_counts(page)["Checked in"] == 1

    # Absent and seen, from each patient's row.
    page.locator(".booking-row", has_text="Lee Siu Mei").get_by_role(
        "button", name="Did not attend"
    ).click()
    message_shown(page, "Lee Siu Mei is marked as not attended")
    counts = day_counts(page)
    assert (counts["Booked"], counts["Did not attend"]) == (1, 1)

    page.locator(".booking-row", has_text="Wong Ka Ho").get_by_role(
        "button", name="Completed"
    ).click()
    message_shown(page, "Wong Ka Ho's visit is marked as completed")
    counts = day_counts(page)
    assert (counts["Booked"], counts["Checked in"], counts["Did not attend"]) == (0, 1, 1)
    assert counts["Completed"] == 1
    absent.refresh_from_db()
    seen.refresh_from_db()
    assert (absent.status, seen.status) == (AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED)

    # Another clinic's day list is not there for this nurse, whatever the address says.
    response = page.goto(f"{page.base_url}{reverse('booking_day_list')}?clinic={other.pk}")
    assert response.status == 403
    page.check_accessibility()
    page.assert_admin_fits()
    assert "You do not have permission" in page.inner_text("main")
    assert "Foreign Patient" not in page.inner_text("body")
    assert foreign.check_in_code not in page.content()
    foreign.refresh_from_db()
    assert foreign.status == AppointmentStatus.BOOKED


def test_nurse_edits_the_clinic_address_in_three_languages(page):
    clinic = ClinicFactory(name_en="Harbour Health Centre", address_en="")
    ensure_clinic_staff_role()
    nurse = StaffFactory(email="nurse@example.org", clinic_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(nurse, secret)
    clinic.staff.add(nurse)

    page.sign_in(nurse, totp_secret=secret)

    page.visit(reverse("booking_clinics:edit", args=[clinic.pk]))
    assert_form_fits(page)
    for field, label in [
        ("address_zh_hant", "Address (Traditional Chinese)"),
        ("address_zh_hans", "Address (Simplified Chinese)"),
        ("address_en", "Address (English)"),
        ("opening_hours_en", "Opening hours (English)"),
    ]:
        assert page.get_by_label(label, exact=False).first.get_attribute("id") == f"id_{field}"
    page.fill("#id_address_zh_hant", "海旁道88號海濱綜合大樓地下")
    page.fill("#id_address_zh_hans", "海旁道88号海滨综合大楼地下")
    page.fill("#id_address_en", "G/F, Harbour Complex, 88 Praya Road")
    page.fill("#id_opening_hours_en", "Mon–Fri 09:00–17:00")
    page.focus("#id_address_en")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{reverse('booking_clinics:index')}")
    message_shown(page)
    assert "G/F, Harbour Complex, 88 Praya Road" in page.inner_text("main")
    clinic.refresh_from_db()
    assert (clinic.address_zh_hant, clinic.address_zh_hans, clinic.address_en) == (
        "海旁道88號海濱綜合大樓地下",
        "海旁道88号海滨综合大楼地下",
        "G/F, Harbour Complex, 88 Praya Road",
    )
    assert clinic.opening_hours_en == "Mon–Fri 09:00–17:00"
