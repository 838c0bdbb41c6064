"""Clinic staff in the Wagtail admin: scoped to their own clinic; schedules, closures, day list."""

from datetime import time, timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import services
from health.booking.models import AppointmentStatus, Closure, ScheduleRule, Slot, SlotStatus
from health.booking.services import local_midnight
from portal.notifications.models import Message
from tests.factories import UserFactory

from .conftest import make_staff
from .factories import (
    AppointmentFactory,
    ClinicFactory,
    PractitionerFactory,
    ScheduleRuleFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_clinic(service):
    return ClinicFactory(services=[service], name_en="Elsewhere Clinic", name_zh_hant="別處診所")


def test_residents_cannot_reach_the_staff_side(resident_client):
    assert resident_client.get(reverse("booking_day_list")).status_code in {302, 403}
    response = resident_client.get(reverse("booking_schedules:index"))
    assert response.status_code in {302, 403}


def test_clinic_list_shows_only_own_clinic(nurse_client, clinic, other_clinic):
    response = nurse_client.get(reverse("booking_clinics:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert clinic.name in page and other_clinic.name not in page
    edit_other = reverse("booking_clinics:edit", args=[other_clinic.pk])
    assert nurse_client.get(edit_other).status_code == 404
    assert nurse_client.get(reverse("booking_clinics:edit", args=[clinic.pk])).status_code == 200


def test_schedule_rules_scoped_and_saving_generates_slots(
    nurse_client, clinic, other_clinic, service
):
    theirs = ScheduleRuleFactory(clinic=other_clinic, service=service)
    assert nurse_client.get(reverse("booking_schedules:edit", args=[theirs.pk])).status_code == 404
    assert (
        nurse_client.post(reverse("booking_schedules:delete", args=[theirs.pk])).status_code == 404
    )

    data = {
        "clinic": clinic.pk,
        "service": service.pk,
        "practitioner": "",
        "weekday": (timezone.localdate().weekday() + 2) % 7,
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_minutes": 20,
        "capacity": 2,
        "valid_from": timezone.localdate().isoformat(),
        "valid_to": "",
        "is_active": "on",
    }
    # A tampered POST for another clinic is a form error.
    response = nurse_client.post(
        reverse("booking_schedules:add"), {**data, "clinic": other_clinic.pk}
    )
    assert response.status_code == 200
    assert not ScheduleRule.objects.filter(clinic=other_clinic).exclude(pk=theirs.pk).exists()

    response = nurse_client.post(reverse("booking_schedules:add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = ScheduleRule.objects.get(clinic=clinic)
    slots = Slot.objects.filter(rule=rule)
    assert slots.count() == 8 * 3  # 8 weeks, three 20-minute slots each
    assert {s.capacity for s in slots} == {2}


def test_practitioner_of_another_clinic_is_not_a_choice(
    nurse_client, clinic, other_clinic, service
):
    stranger = PractitionerFactory(clinic=other_clinic)
    data = {
        "clinic": clinic.pk,
        "service": service.pk,
        "practitioner": stranger.pk,
        "weekday": 1,
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_minutes": 15,
        "capacity": 1,
        "valid_from": timezone.localdate().isoformat(),
        "is_active": "on",
    }
    response = nurse_client.post(reverse("booking_schedules:add"), data)
    assert response.status_code == 200
    assert not ScheduleRule.objects.exists()


def test_closure_cancels_and_notifies(nurse_client, clinic, service):
    day = timezone.localdate() + timedelta(days=2)
    slot = SlotFactory(
        clinic=clinic,
        service=service,
        start=timezone.make_aware(timezone.datetime.combine(day, time(10))),
    )
    resident = UserFactory()
    appointment = services.book(resident, slot.pk)

    response = nurse_client.post(
        reverse("booking_closures:add"),
        {
            "clinic": clinic.pk,
            "service": "",
            "date": day.isoformat(),
            "start_time": "",
            "end_time": "",
            "reason": "Typhoon",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    closure = Closure.objects.get()
    assert closure.applied_at is not None and closure.created_by is not None
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.CLOSED
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert Message.objects.filter(user=resident, body__contains="Typhoon").exists()


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
    services.book(holder, slot.pk)
    waiting = services.join_waitlist(UserFactory(), slot.pk)
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


def test_every_staff_admin_page_renders(nurse_client, clinic, service):
    ScheduleRuleFactory(clinic=clinic, service=service)
    PractitionerFactory(clinic=clinic)
    for name in [
        "booking_clinics",
        "booking_practitioners",
        "booking_schedules",
        "booking_closures",
        "booking_services",
    ]:
        assert nurse_client.get(reverse(f"{name}:index")).status_code == 200, name
    for name in ["booking_practitioners", "booking_schedules", "booking_closures"]:
        assert nurse_client.get(reverse(f"{name}:add")).status_code == 200, name
    assert nurse_client.get(reverse("booking_clinics:add")).status_code in {302, 403}
    assert nurse_client.get(reverse("booking_day_list")).status_code == 200


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
