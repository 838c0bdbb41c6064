"""Browser tests at 360 px of what issue 12 found: the day tiles keep the weekday ("星期一")
and the places left on one line each in Chinese and English; the clinic day list is one
compact row per appointment, with its buttons on the row, and can be filtered."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from health.booking import rules
from health.booking.conf import local_midnight
from health.booking.models import AppointmentStatus
from tests.factories import StaffFactory, UserFactory

from .conftest import ensure_clinic_staff_role
from .factories import AppointmentFactory, ClinicFactory, ServiceFactory, SlotFactory, local
from .test_e2e_staff import message_shown

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The number of rendered lines of each element's text (distinct line tops of its text boxes).
LINES = """(selector) => Array.from(document.querySelectorAll(selector)).map(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
    return [el.textContent.trim(), tops.size];
})"""

ROW_HEIGHTS = """() => Array.from(document.querySelectorAll(
    'ol[aria-labelledby=appointments-title] > li')).map(li => li.getBoundingClientRect().height)"""


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_day_tiles_keep_weekday_and_places_on_one_line_at_360(page, language):
    service = ServiceFactory(code="general", name_en="General practice")
    clinic = ClinicFactory(services=[service], name_en="Harbour Health Centre")
    today = timezone.localdate()
    # Two-digit places left (the widest label), a full day and closed days in the fortnight.
    for hour in range(8, 20):
        for minute in (0, 30):
            SlotFactory(
                clinic=clinic, service=service, start=local(today + timedelta(days=1), hour, minute)
            )
    full = SlotFactory(clinic=clinic, service=service, start=local(today + timedelta(days=2), 10))
    rules.book(UserFactory(), full.pk)
    resident = UserFactory()
    page.sign_in(resident, language=language)

    page.visit(reverse("booking:clinic_days", args=[clinic.pk, service.code]))
    page.assert_fits()
    weekdays = page.evaluate(LINES, ".day-picker__weekday")
    places = page.evaluate(LINES, ".day-picker__free")
    assert len(weekdays) == 14 and places
    assert [w for w in weekdays if w[1] != 1] == []
    assert [p for p in places if p[1] != 1] == []
    if language == "zh-hant":
        assert any(text.startswith("星期") and len(text) == 3 for text, _n in weekdays)
    texts = [text for text, _n in places]
    assert any("24" in text for text in texts)
    # Each tile stays inside its column: nothing spills into the next day's tile.
    spill = page.evaluate(
        """() => Array.from(document.querySelectorAll('.day-picker__day')).filter(tile =>
            Array.from(tile.querySelectorAll(':scope > :not(.visually-hidden)'))
                .some(c => c.scrollWidth > tile.clientWidth + 1))
            .map(tile => [tile.textContent.trim(), tile.clientWidth,
                Array.from(tile.children).map(c => c.scrollWidth)])"""
    )
    assert spill == []


def test_clinic_day_list_is_one_compact_row_per_appointment(page):
    service = ServiceFactory(code="general", name_en="General practice")
    clinic = ClinicFactory(services=[service], name_en="Harbour Health Centre")
    ensure_clinic_staff_role()
    nurse = StaffFactory(email="nurse@example.org", clinic_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(nurse, secret)
    clinic.staff.add(nurse)
    now = timezone.now()
    midnight = local_midnight(timezone.localdate(now))
    start = max(now - timedelta(minutes=60), midnight)
    later = min(now + timedelta(minutes=30), midnight + timedelta(days=1, minutes=-30))
    # Thirty patients in two sessions today (one started, one to come).
    patients = []
    for session_start in (start, later):
        slot = SlotFactory(clinic=clinic, service=service, start=session_start, capacity=15)
        for _n in range(15):
            user = UserFactory()
            user.profile.display_name = f"Patient {len(patients):02d}"
            user.profile.save()
            patients.append(AppointmentFactory(slot=slot, resident=user))

    page.sign_in(nurse, totp_secret=secret)
    page.visit(reverse("booking_day_list"))
    page.assert_admin_fits()
    rows = page.locator("ol[aria-labelledby=appointments-title] > li.booking-row")
    assert rows.count() == 30
    # A row is a few lines on a phone: time, name, code, status and its buttons.
    heights = page.evaluate(ROW_HEIGHTS)
    assert max(heights) <= 120, heights
    total = page.evaluate("document.documentElement.scrollHeight")
    assert total < 30 * 120 + 2500

    # Check in from the row, by keyboard: focus the row's button and press Enter.
    row = page.locator(".booking-row", has_text="Patient 20")
    row.get_by_role("button", name="Check in").focus()
    page.keyboard.press("Enter")
    message_shown(page, "Patient 20 is checked in")
    patients[20].refresh_from_db()
    assert patients[20].status == AppointmentStatus.CHECKED_IN

    # Filter by status: only the checked-in patient is listed, and the counts stay the day's.
    page.select_option("#day-status", "checked_in")
    page.click(".booking-day-filter button[type=submit]")
    page.wait_for_url("**status=checked_in**")
    page.check_accessibility()
    page.assert_admin_fits()
    assert page.locator(".booking-row__patient").all_inner_texts() == ["Patient 20"]

    # Filter by time: the later session only; an action keeps the filter.
    page.select_option("#day-status", "")
    page.fill("#day-from", timezone.localtime(later).strftime("%H:%M"))
    page.click(".booking-day-filter button[type=submit]")
    page.wait_for_url("**from=**")
    names = page.locator(".booking-row__patient").all_inner_texts()
    assert names == [f"Patient {n:02d}" for n in range(15, 30)]
    page.locator(".booking-row", has_text="Patient 21").get_by_role(
        "button", name="Completed"
    ).click()
    message_shown(page, "Patient 21's visit is marked as completed")
    assert "from=" in page.url
    assert len(page.locator(".booking-row__patient").all_inner_texts()) == 15

    # At desk width each appointment is a single line.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    heights = page.evaluate(ROW_HEIGHTS)
    assert max(heights) <= 64, heights
