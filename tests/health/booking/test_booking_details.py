"""Booking details a walk through the portal found (issue 12): closed days say "Closed", full
days "Full"; rescheduling opens on the current appointment's day and labels the resident's own
time; a moved appointment says where it went."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import rules
from health.booking.conf import local_midnight
from health.booking.models import AppointmentStatus, SlotStatus
from portal.dates import format_when
from tests.factories import UserFactory

from .factories import AppointmentFactory, SlotFactory, local, tomorrow_at

pytestmark = pytest.mark.django_db


def tiles(page):
    """{ISO day: the tile's visible text} of the day picker."""
    found = {}
    for match in re.finditer(
        r'<a class="day-picker__day[^"]*" href="\?day=([0-9-]+)"(.*?)</a>', page, re.S
    ):
        words = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(2), flags=re.S)
        found[match.group(1)] = " ".join(re.sub(r"<[^>]+>", " ", words).split())
    return found


def test_closed_days_say_closed_and_full_days_say_full(resident_client, clinic, service):
    today = timezone.localdate()
    free_day, full_day, closed_day = (today + timedelta(days=n) for n in (1, 2, 3))
    holiday = today + timedelta(days=4)
    SlotFactory(clinic=clinic, service=service, start=local(free_day, 10), capacity=2)
    full = SlotFactory(clinic=clinic, service=service, start=local(full_day, 10), capacity=1)
    rules.book(UserFactory(), full.pk)
    # A holiday: its time was closed by a closure; a day with no time at all is closed too.
    SlotFactory(clinic=clinic, service=service, start=local(holiday, 10), status=SlotStatus.CLOSED)
    url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
    page = resident_client.get(f"{url}?day={free_day.isoformat()}").content.decode()
    shown = tiles(page)
    assert "1 left" in shown[free_day.isoformat()]
    assert shown[full_day.isoformat()].endswith("Full")
    assert shown[closed_day.isoformat()].endswith("Closed")
    assert shown[holiday.isoformat()].endswith("Closed")
    # The full sentence is still read out on a free day.
    assert "1 free" in page


def test_day_states_cost_no_query_per_day(resident_client, clinic, service):
    for n in range(1, 6):
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9) + timedelta(days=n))
    url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
    resident_client.get(url)
    with CaptureQueriesContext(connection) as few:
        resident_client.get(url)
    for n in range(6, 12):
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9) + timedelta(days=n))
    with CaptureQueriesContext(connection) as more:
        resident_client.get(url)
    assert len(more) == len(few)


def test_rescheduling_opens_on_the_appointments_day_and_labels_it_as_theirs(
    resident_client, resident, clinic, service
):
    # A free time earlier in the window, and the resident's own time (now full) later on.
    SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10), capacity=1)
    day = timezone.localdate() + timedelta(days=5)
    own = SlotFactory(clinic=clinic, service=service, start=local(day, 9), capacity=1)
    other = SlotFactory(clinic=clinic, service=service, start=local(day, 11), capacity=1)
    appointment = rules.book(resident, own.pk)

    response = resident_client.get(reverse("booking:reschedule", args=[appointment.pk]))
    assert response.context["day"] == day
    page = response.content.decode()
    row = page[page.index(f'datetime="{own.start.isoformat()}"') :]
    row = row[: row.index("</li>")]
    assert "Your current time" in row and "Full" not in row
    assert f'value="{other.pk}"' in page

    # A day asked for still wins.
    asked = timezone.localdate(tomorrow_at(10))
    response = resident_client.get(
        reverse("booking:reschedule", args=[appointment.pk]) + f"?day={asked.isoformat()}"
    )
    assert response.context["day"] == asked


def test_a_moved_appointment_says_where_it_went(resident_client, resident, clinic, service):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new_slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(15))
    appointment = rules.book(resident, old.pk)
    moved = rules.reschedule(appointment, new_slot.pk)
    cancelled = rules.book(
        resident, SlotFactory(clinic=clinic, service=service, start=tomorrow_at(17)).pk
    )
    rules.cancel(cancelled, by=resident, reason="")

    page = resident_client.get(reverse("booking:appointments")).content.decode()
    past = page[page.index("Past and cancelled") :]
    when = format_when(moved.start, "short_weekday_datetime")
    link = reverse("booking:appointment", args=[moved.pk])
    assert f'<a href="{link}">Moved to {when}</a>' in past
    # Only the really cancelled one is called cancelled.
    assert past.count("Cancelled") == 1
    assert str(AppointmentStatus.CANCELLED.label) == "Cancelled"


def test_moved_labels_take_one_query_for_the_list(resident_client, resident, clinic, service):
    def move_one(hour):
        appointment = rules.book(
            resident, SlotFactory(clinic=clinic, service=service, start=tomorrow_at(hour)).pk
        )
        rules.reschedule(
            appointment,
            SlotFactory(
                clinic=clinic, service=service, start=tomorrow_at(hour) + timedelta(days=1)
            ).pk,
        )

    move_one(8)
    url = reverse("booking:appointments")
    resident_client.get(url)
    with CaptureQueriesContext(connection) as one:
        resident_client.get(url)
    move_one(10)
    move_one(12)
    # The moves' messages changed the header's unread count, which is read once and then
    # kept with the resident's cached values: compare the list in the same state as before.
    resident_client.get(url)
    with CaptureQueriesContext(connection) as three:
        resident_client.get(url)
    assert len(three) == len(one)


def _today_slot(clinic, service, minutes, capacity=3):
    now = timezone.now()
    midnight = local_midnight(timezone.localdate(now))
    start = min(max(now + timedelta(minutes=minutes), midnight), midnight + timedelta(hours=23))
    return SlotFactory(clinic=clinic, service=service, start=start, capacity=capacity)


def test_day_list_rows_check_in_and_filter(nurse_client, clinic, service, other_clinic):
    early = _today_slot(clinic, service, -60)
    late = _today_slot(clinic, service, 30)
    waiting = AppointmentFactory(slot=early)
    arriving = AppointmentFactory(slot=late)
    foreign = AppointmentFactory(slot=_today_slot(other_clinic, service, -60))
    url = reverse("booking_day_list")

    page = nurse_client.get(url).content.decode()
    # One row per appointment, with its check-in button on the row.
    assert page.count('value="check_in_row"') == 2

    response = nurse_client.post(
        url,
        {
            "clinic": clinic.pk,
            "action": "check_in_row",
            "appointment": waiting.pk,
            "status": "booked",
        },
    )
    assert response.status_code == 302 and "status=booked" in response["Location"]
    waiting.refresh_from_db()
    assert waiting.status == AppointmentStatus.CHECKED_IN
    # Another clinic's appointment cannot be checked in from a row.
    response = nurse_client.post(
        url, {"clinic": clinic.pk, "action": "check_in_row", "appointment": foreign.pk}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == AppointmentStatus.BOOKED

    response = nurse_client.get(url, {"clinic": clinic.pk, "status": "checked_in"})
    assert [a.pk for a in response.context["appointments"]] == [waiting.pk]
    assert response.context["total"] == 2  # the counts stay the whole day's
    at = timezone.localtime(late.start).strftime("%H:%M")
    response = nurse_client.get(url, {"clinic": clinic.pk, "from": at})
    assert [a.pk for a in response.context["appointments"]] == [arriving.pk]
    response = nurse_client.get(url, {"clinic": clinic.pk, "until": at})
    assert [a.pk for a in response.context["appointments"]] == [waiting.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"status": "cancelled"},
        {"from": "25:99"},
        {"from": "\x00"},
        {"until": "１０:００"},
        {"from": "9"},
    ],
)
def test_day_list_odd_filters_are_ignored(nurse_client, clinic, service, params):
    appointment = AppointmentFactory(slot=_today_slot(clinic, service, 30))
    response = nurse_client.get(reverse("booking_day_list"), {"clinic": clinic.pk, **params})
    assert response.status_code == 200
    assert [a.pk for a in response.context["appointments"]] == [appointment.pk]
