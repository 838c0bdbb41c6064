"""The clinic's day list in the admin: check-in, no-show, completed, closing a time, capacity;
another clinic's list refused; posted values checked."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import rules, waitlists
from health.booking.conf import local_midnight
from health.booking.models import AppointmentStatus, Slot, SlotStatus
from portal.notifications.models import Message
from tests.factories import UserFactory

from .conftest import make_staff
from .factories import (
    AppointmentFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db


def test_day_list_check_in_no_show_completed(nurse_client, clinic, service, other_clinic):
    now = timezone.now()
    # The list is today's (the real today): keep both times on it near midnight too.
    today = local_midnight(timezone.localdate(now))
    earlier = SlotFactory(
        clinic=clinic,
        service=service,
        start=max(now - timedelta(minutes=30), today),
        capacity=3,
    )
    later = SlotFactory(
        clinic=clinic,
        service=service,
        start=min(now + timedelta(minutes=5), today + timedelta(days=1, minutes=-1)),
        capacity=3,
    )
    absent = AppointmentFactory(slot=earlier)
    arriving = AppointmentFactory(slot=later)
    seen = AppointmentFactory(slot=earlier)
    foreign = AppointmentFactory(slot=SlotFactory(clinic=other_clinic, service=service, start=now))
    url = reverse("booking_day_list")

    response = nurse_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert arriving.check_in_code in page and foreign.check_in_code not in page

    response = nurse_client.post(
        url, {"clinic": clinic.pk, "action": "check_in", "code": arriving.check_in_code.lower()}
    )
    assert response.status_code == 302
    arriving.refresh_from_db()
    assert arriving.status == AppointmentStatus.CHECKED_IN

    nurse_client.post(url, {"clinic": clinic.pk, "action": "no_show", "appointment": absent.pk})
    nurse_client.post(url, {"clinic": clinic.pk, "action": "completed", "appointment": seen.pk})
    absent.refresh_from_db()
    seen.refresh_from_db()
    assert (absent.status, seen.status) == (AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED)

    # Another clinic's appointment cannot be touched, even by id or code.
    response = nurse_client.post(
        url, {"clinic": clinic.pk, "action": "completed", "appointment": foreign.pk}
    )
    assert response.status_code == 404
    response = nurse_client.post(
        url, {"clinic": other_clinic.pk, "action": "check_in", "code": foreign.check_in_code}
    )
    foreign.refresh_from_db()
    assert foreign.status == AppointmentStatus.BOOKED

    response = nurse_client.post(
        url, {"clinic": clinic.pk, "action": "check_in", "code": "NOPE1234"}
    )
    assert response.status_code == 200
    assert "NOPE1234" in response.content.decode()

    response = nurse_client.get(url)
    counts = dict(response.context["counts"])
    assert response.context["total"] == 3
    assert sorted(counts.values()) == [0, 1, 1, 1]


def test_staff_without_a_clinic_see_a_hint(client, clinic):
    staff = make_staff()
    client.force_login(staff)
    response = client.get(reverse("booking_day_list"))
    assert response.status_code == 200
    assert response.context["clinic"] is None


def test_day_list_close_a_time_and_change_capacity(nurse_client, clinic, service, other_clinic):
    from health.booking.models import WaitlistEntry, WaitlistStatus

    start = timezone.now() + timedelta(hours=3)
    slot = SlotFactory(clinic=clinic, service=service, start=start, capacity=1)
    holder = UserFactory()
    rules.book(holder, slot.pk)
    waiting = waitlists.join_waitlist(UserFactory(), slot.pk)
    url = reverse("booking_day_list")
    day = timezone.localdate(start).isoformat()

    nurse_client.post(
        url, {"clinic": clinic.pk, "day": day, "action": "capacity", "slot": slot.pk, "capacity": 2}
    )
    assert Slot.objects.get(pk=slot.pk).capacity == 2
    assert WaitlistEntry.objects.get(pk=waiting.pk).status == WaitlistStatus.OFFERED
    response = nurse_client.post(
        url,
        {"clinic": clinic.pk, "day": day, "action": "capacity", "slot": slot.pk, "capacity": 1},
        follow=True,
    )
    assert Slot.objects.get(pk=slot.pk).capacity == 2  # cannot drop below places taken
    assert any("cannot be lower" in str(m) for m in response.context["messages"])

    nurse_client.post(
        url,
        {"clinic": clinic.pk, "day": day, "action": "close_slot", "slot": slot.pk, "reason": ""},
    )
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.OPEN
    nurse_client.post(
        url,
        {
            "clinic": clinic.pk,
            "day": day,
            "action": "close_slot",
            "slot": slot.pk,
            "reason": "Doctor ill",
        },
    )
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.CLOSED
    assert Message.objects.filter(user=holder, body__contains="Doctor ill").exists()

    foreign = SlotFactory(clinic=other_clinic, service=service, start=start)
    response = nurse_client.post(
        url,
        {
            "clinic": clinic.pk,
            "day": day,
            "action": "close_slot",
            "slot": foreign.pk,
            "reason": "x",
        },
    )
    assert response.status_code == 404
    assert Slot.objects.get(pk=foreign.pk).status == SlotStatus.OPEN


def test_another_clinics_day_list_is_refused(nurse_client, clinic, other_clinic, service):
    foreign = AppointmentFactory(
        slot=SlotFactory(clinic=other_clinic, service=service, start=timezone.now())
    )
    url = reverse("booking_day_list")
    for clinic_id in (other_clinic.pk, "abc", "99999999999999999999999"):
        response = nurse_client.get(url, {"clinic": clinic_id})
        assert response.status_code == 403, clinic_id
        page = response.content.decode()
        assert foreign.check_in_code not in page and "You do not have permission" in page
    response = nurse_client.post(
        url, {"clinic": other_clinic.pk, "action": "completed", "appointment": foreign.pk}
    )
    assert response.status_code == 403
    foreign.refresh_from_db()
    assert foreign.status == AppointmentStatus.BOOKED
    assert nurse_client.get(url, {"clinic": clinic.pk}).context["clinic"] == clinic


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30", "yesterday"])
def test_day_list_survives_any_day_value(nurse_client, clinic, day):
    response = nurse_client.get(reverse("booking_day_list"), {"clinic": clinic.pk, "day": day})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate()


@pytest.mark.parametrize(
    "reason,message",
    [
        ("a\x00b", "Null characters are not allowed"),
        ("Doctor\x1b[31m ill", "cannot be read"),
        ("x" * 201, "at most 200 characters"),
        ("   ", "Give a reason"),
    ],
)
def test_day_list_close_reason_is_checked(nurse_client, clinic, booked_slot, reason, message):
    response = nurse_client.post(
        reverse("booking_day_list"),
        {"clinic": clinic.pk, "action": "close_slot", "slot": booked_slot.pk, "reason": reason},
        follow=True,
    )
    assert response.status_code == 200
    assert any(message in str(m) for m in response.context["messages"])
    booked_slot.refresh_from_db()
    assert booked_slot.status == SlotStatus.OPEN
    assert booked_slot.appointments.get().status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "capacity", ["", "abc", "²", "9" * 30, "9" * 5000, "0", "101", "-1", "1\x00"]
)
def test_day_list_capacity_is_checked(nurse_client, clinic, booked_slot, capacity):
    response = nurse_client.post(
        reverse("booking_day_list"),
        {"clinic": clinic.pk, "action": "capacity", "slot": booked_slot.pk, "capacity": capacity},
        follow=True,
    )
    assert response.status_code == 200
    assert any("Enter a capacity from 1 to 100." in str(m) for m in response.context["messages"])
    assert Slot.objects.get(pk=booked_slot.pk).capacity == 2


@pytest.mark.parametrize("value", ["", "abc", "²", "٣", "9" * 30, "1\x00", "-1"])
@pytest.mark.parametrize("action,field", [("completed", "appointment"), ("close_slot", "slot")])
def test_day_list_ids_that_name_nothing_are_not_found(
    nurse_client, clinic, booked_slot, action, field, value
):
    response = nurse_client.post(
        reverse("booking_day_list"),
        {"clinic": clinic.pk, "action": action, field: value, "reason": "Doctor ill"},
    )
    assert response.status_code == 404
    booked_slot.refresh_from_db()
    assert booked_slot.status == SlotStatus.OPEN
    assert booked_slot.appointments.get().status == AppointmentStatus.BOOKED


@pytest.mark.parametrize("value", ["²", "٣", "9" * 30, "1\x00", ""])
def test_day_list_odd_service_and_action_values(nurse_client, clinic, value):
    url = reverse("booking_day_list")
    response = nurse_client.get(url, {"clinic": clinic.pk, "service": value})
    assert response.status_code == 200
    assert response.context["service"] is None
    response = nurse_client.post(url, {"clinic": clinic.pk, "action": value}, follow=True)
    assert response.status_code == 200
    assert any("Unknown action." in str(m) for m in response.context["messages"])


def test_a_later_days_visit_has_no_completed_button_and_cannot_be_completed(
    nurse_client, clinic, service
):
    tomorrow = timezone.localdate() + timedelta(days=1)
    appointment = AppointmentFactory(
        slot=SlotFactory(
            clinic=clinic, service=service, start=local_midnight(tomorrow) + timedelta(hours=10)
        )
    )
    url = reverse("booking_day_list")
    page = nurse_client.get(url, {"clinic": clinic.pk, "day": tomorrow.isoformat()})
    html = page.content.decode()
    assert appointment.check_in_code in html and 'name="action" value="completed"' not in html

    response = nurse_client.post(
        url,
        {"clinic": clinic.pk, "action": "completed", "appointment": appointment.pk},
        follow=True,
    )
    assert "only on or after its day" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
