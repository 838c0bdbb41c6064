"""Clinic staff in the Wagtail admin: clinics, practitioners, schedules and closures, scoped to
their own clinics; saving and its follow-up step are one transaction."""

from datetime import time, timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import errors, rules, schedules
from health.booking.models import AppointmentStatus, Closure, ScheduleRule, Slot, SlotStatus
from portal.notifications.models import Message
from tests.factories import UserFactory

from .factories import (
    ClinicFactory,
    ClosureFactory,
    PractitionerFactory,
    ScheduleRuleFactory,
    SlotFactory,
    clinic_form_data,
)

pytestmark = pytest.mark.django_db


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
    appointment = rules.book(resident, slot.pk)

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


def _add_rows(kind, clinic, service, nurse, count):
    for _ in range(count):
        if kind == "booking_clinics":
            ClinicFactory(services=[service]).staff.add(nurse)
        elif kind == "booking_practitioners":
            PractitionerFactory(clinic=clinic)
        elif kind == "booking_schedules":
            ScheduleRuleFactory(
                clinic=clinic, service=service, practitioner=PractitionerFactory(clinic=clinic)
            )
        else:
            ClosureFactory(clinic=clinic, service=service)


@pytest.mark.parametrize(
    "kind",
    ["booking_clinics", "booking_practitioners", "booking_schedules", "booking_closures"],
)
def test_staff_lists_do_not_query_per_row(nurse_client, nurse, clinic, service, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse(f"{kind}:index")

    def queries():
        with CaptureQueriesContext(connection) as context:
            response = nurse_client.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), len(response.context["object_list"])

    _add_rows(kind, clinic, service, nurse, 2)
    few, few_rows = queries()
    _add_rows(kind, clinic, service, nurse, 10)
    many, many_rows = queries()
    assert many_rows == few_rows + 10
    assert many == few


OBJECT_VIEWS = ["edit", "delete", "history", "history_results", "usage", "inspect", "copy"]


@pytest.fixture
def records(clinic, other_clinic, service):
    """(own, foreign) object of each scoped viewset."""
    return {
        "booking_clinics": (clinic, other_clinic),
        "booking_practitioners": (
            PractitionerFactory(clinic=clinic),
            PractitionerFactory(clinic=other_clinic, name="Dr Secret"),
        ),
        "booking_schedules": (
            ScheduleRuleFactory(clinic=clinic, service=service),
            ScheduleRuleFactory(clinic=other_clinic, service=service),
        ),
        "booking_closures": (
            ClosureFactory(clinic=clinic),
            ClosureFactory(clinic=other_clinic, reason="Secret staff strike"),
        ),
    }


@pytest.mark.parametrize(
    "kind",
    ["booking_clinics", "booking_practitioners", "booking_schedules", "booking_closures"],
)
def test_another_clinics_record_is_not_found_in_any_view(nurse_client, records, kind):
    from django.urls import NoReverseMatch

    own, foreign = records[kind]
    checked = []
    for view in OBJECT_VIEWS:
        try:
            url = reverse(f"{kind}:{view}", args=[foreign.pk])
        except NoReverseMatch:  # a view the viewset does not enable
            continue
        response = nurse_client.get(url)
        assert response.status_code == 404, (view, response.status_code)
        checked.append(view)
        # The staff member's own record still opens (or is refused by role, never 404).
        own_response = nurse_client.get(reverse(f"{kind}:{view}", args=[own.pk]))
        assert own_response.status_code in {200, 302}, (view, own_response.status_code)
    assert {"edit", "delete", "history", "history_results", "usage"} <= set(checked)
    # Posting to the delete view is refused the same way, and deletes nothing.
    response = nurse_client.post(reverse(f"{kind}:delete", args=[foreign.pk]))
    assert response.status_code == 404
    assert type(foreign).objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize("view_name", ["ScopedInspectView", "ScopedCopyView"])
def test_inspect_and_copy_views_are_scoped_too(rf, nurse, records, view_name):
    """Both are off today; when a viewset turns one on it is scoped already."""
    from django.http import Http404

    from health.booking import admin_viewsets

    own, foreign = records["booking_closures"]
    view = getattr(admin_viewsets, view_name)(model=Closure)
    view.request = rf.get("/")
    view.request.user = nurse
    for record in (own, foreign):
        # Inspect reads the id from view.pk, copy from view.kwargs.
        view.pk, view.kwargs = str(record.pk), {"pk": str(record.pk)}
        if record is own:
            assert view.get_object() == own
        else:
            with pytest.raises(Http404):
                view.get_object()


def _closure_data(clinic, day):
    return {
        "clinic": clinic.pk,
        "service": "",
        "date": day.isoformat() if hasattr(day, "isoformat") else day,
        "start_time": "",
        "end_time": "",
        "reason": "Typhoon",
    }


@pytest.mark.parametrize("day", ["9999-12-31", "2999-12-31", "far"])
def test_closure_beyond_the_planning_window_is_refused(nurse_client, clinic, day):
    from health.booking.forms import last_plannable_day

    last = last_plannable_day()
    if day == "far":
        day = last + timedelta(days=1)
    response = nurse_client.post(reverse("booking_closures:add"), _closure_data(clinic, day))
    assert response.status_code == 200
    assert not Closure.objects.exists()
    assert f"Choose a date on or before {last.isoformat()}" in response.content.decode()


def test_closure_up_to_a_year_ahead_is_accepted_and_past_ones_refused(nurse_client, clinic):
    from health.booking.forms import last_plannable_day

    today = timezone.localdate()
    assert last_plannable_day() >= today + timedelta(days=365)
    response = nurse_client.post(
        reverse("booking_closures:add"), _closure_data(clinic, last_plannable_day())
    )
    assert response.status_code == 302
    response = nurse_client.post(
        reverse("booking_closures:add"), _closure_data(clinic, today - timedelta(days=1))
    )
    assert response.status_code == 200
    assert "A closure cannot be in the past." in response.content.decode()
    assert Closure.objects.count() == 1


def _rule_data(clinic, service, **changes):
    return {
        "clinic": clinic.pk,
        "service": service.pk,
        "practitioner": "",
        "weekday": 2,
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_minutes": 15,
        "capacity": 2,
        "valid_from": timezone.localdate().isoformat(),
        "valid_to": "",
        "is_active": "on",
        **changes,
    }


def test_schedule_starting_beyond_the_planning_window_is_refused(nurse_client, clinic, service):
    url = reverse("booking_schedules:add")
    data = _rule_data(clinic, service, valid_from="9999-12-31", valid_to="9999-12-31")
    response = nurse_client.post(url, data)
    assert response.status_code == 200
    assert "Choose a date on or before" in response.content.decode()
    assert not ScheduleRule.objects.exists()
    # A far last day is no end at all: accepted, and the slots are made as usual.
    response = nurse_client.post(url, _rule_data(clinic, service, valid_to="9999-12-31"))
    assert response.status_code == 302
    assert Slot.objects.filter(rule__clinic=clinic).exists()


def _refuse(*args, **kwargs):
    raise errors.SlotNotFound()


def _break(*args, **kwargs):
    raise RuntimeError("follow-up failed")


def test_rule_is_not_saved_when_its_slots_cannot_be_made(
    nurse_client, clinic, service, monkeypatch
):
    monkeypatch.setattr(schedules, "sync_rule_slots", _refuse)
    response = nurse_client.post(reverse("booking_schedules:add"), _rule_data(clinic, service))
    # A rule's refusal is shown on the form, which keeps what was typed.
    assert response.status_code == 200
    assert str(errors.SlotNotFound()) in response.content.decode()
    assert response.context["form"]["start_time"].value() == "09:00"
    assert not ScheduleRule.objects.exists()


def test_rule_edit_is_not_saved_when_its_slots_cannot_be_synced(
    nurse_client, clinic, service, monkeypatch
):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=2, capacity=2)
    schedules.sync_rule_slots(rule)
    slots = Slot.objects.filter(rule=rule).count()
    url = reverse("booking_schedules:edit", args=[rule.pk])
    monkeypatch.setattr(schedules, "sync_rule_slots", _refuse)
    response = nurse_client.post(url, _rule_data(clinic, service, capacity=5))
    assert response.status_code == 200
    assert str(errors.SlotNotFound()) in response.content.decode()
    rule.refresh_from_db()
    assert rule.capacity == 2

    monkeypatch.setattr(schedules, "sync_rule_slots", _break)
    nurse_client.raise_request_exception = False
    response = nurse_client.post(url, _rule_data(clinic, service, capacity=5))
    assert response.status_code == 500  # unknown failure: an error page, nothing saved
    rule.refresh_from_db()
    assert rule.capacity == 2
    assert Slot.objects.filter(rule=rule).count() == slots


@pytest.mark.parametrize("failure,status", [(_refuse, 200), (_break, 500)])
def test_closure_is_not_saved_when_it_cannot_be_applied(
    nurse_client, clinic, booked_slot, monkeypatch, failure, status
):
    def apply_then_fail(closure, **kwargs):
        # The slots are closed and residents told before the failure: all of it must go.
        real_apply_closure(closure, **kwargs)
        failure()

    real_apply_closure = schedules.apply_closure
    monkeypatch.setattr(schedules, "apply_closure", apply_then_fail)
    nurse_client.raise_request_exception = False
    day = timezone.localdate(booked_slot.start)
    response = nurse_client.post(reverse("booking_closures:add"), _closure_data(clinic, day))
    assert response.status_code == status
    if status == 200:
        assert str(errors.SlotNotFound()) in response.content.decode()
    assert not Closure.objects.exists()
    booked_slot.refresh_from_db()
    assert booked_slot.status == SlotStatus.OPEN
    assert booked_slot.appointments.get().status == AppointmentStatus.BOOKED
    assert not Message.objects.filter(body__contains="Typhoon").exists()


def test_rule_is_not_deleted_when_its_slots_cannot_be_retired(
    nurse_client, clinic, service, monkeypatch
):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=2)
    schedules.sync_rule_slots(rule)
    slots = Slot.objects.filter(rule=rule).count()

    def retire_then_refuse(rule, **kwargs):
        real_retire_rule(rule, **kwargs)
        raise errors.SlotNotFound()

    real_retire_rule = schedules.retire_rule
    monkeypatch.setattr(schedules, "retire_rule", retire_then_refuse)
    response = nurse_client.post(reverse("booking_schedules:delete", args=[rule.pk]))
    assert response.status_code == 200
    assert any(str(errors.SlotNotFound()) in str(m) for m in response.context["messages"])
    assert ScheduleRule.objects.filter(pk=rule.pk).exists()
    assert Slot.objects.filter(rule=rule).count() == slots


def test_a_service_taken_off_a_clinic_takes_no_new_bookings(nurse_client, clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, capacity=2, weekday=2)
    schedules.sync_rule_slots(rule)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = rules.book(UserFactory(), booked_slot.pk)

    response = nurse_client.post(
        reverse("booking_clinics:edit", args=[clinic.pk]),
        clinic_form_data(clinic, services=[]),
        follow=True,
    )

    assert response.status_code == 200
    assert "no longer offers" in response.content.decode()
    assert list(Slot.objects.filter(rule=rule)) == [booked_slot]
    booked_slot.refresh_from_db()
    assert booked_slot.capacity == 1
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
