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
    ClosureFactory,
    PractitionerFactory,
    ScheduleRuleFactory,
    SlotFactory,
    clinic_form_data,
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


# Staff lists read a fixed number of queries -----------------------------------------------------
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


# Another clinic's records, by id, in every view -------------------------------------------------
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

    from health.booking import wagtail_hooks

    own, foreign = records["booking_closures"]
    view = getattr(wagtail_hooks, view_name)(model=Closure)
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


# Dates beyond what can be planned ---------------------------------------------------------------
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


# The day list's posted values -------------------------------------------------------------------
@pytest.fixture
def booked_slot(clinic, service):
    slot = SlotFactory(
        clinic=clinic, service=service, start=timezone.now() + timedelta(hours=3), capacity=2
    )
    AppointmentFactory(slot=slot)
    return slot


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


# Saving and its follow-up step are one transaction ----------------------------------------------
def _refuse(*args, **kwargs):
    raise services.SlotNotFound()


def _break(*args, **kwargs):
    raise RuntimeError("follow-up failed")


def test_rule_is_not_saved_when_its_slots_cannot_be_made(
    nurse_client, clinic, service, monkeypatch
):
    monkeypatch.setattr(services, "sync_rule_slots", _refuse)
    response = nurse_client.post(reverse("booking_schedules:add"), _rule_data(clinic, service))
    # A rule's refusal is shown on the form, which keeps what was typed.
    assert response.status_code == 200
    assert str(services.SlotNotFound()) in response.content.decode()
    assert response.context["form"]["start_time"].value() == "09:00"
    assert not ScheduleRule.objects.exists()


def test_rule_edit_is_not_saved_when_its_slots_cannot_be_synced(
    nurse_client, clinic, service, monkeypatch
):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=2, capacity=2)
    services.sync_rule_slots(rule)
    slots = Slot.objects.filter(rule=rule).count()
    url = reverse("booking_schedules:edit", args=[rule.pk])
    monkeypatch.setattr(services, "sync_rule_slots", _refuse)
    response = nurse_client.post(url, _rule_data(clinic, service, capacity=5))
    assert response.status_code == 200
    assert str(services.SlotNotFound()) in response.content.decode()
    rule.refresh_from_db()
    assert rule.capacity == 2

    monkeypatch.setattr(services, "sync_rule_slots", _break)
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

    real_apply_closure = services.apply_closure
    monkeypatch.setattr(services, "apply_closure", apply_then_fail)
    nurse_client.raise_request_exception = False
    day = timezone.localdate(booked_slot.start)
    response = nurse_client.post(reverse("booking_closures:add"), _closure_data(clinic, day))
    assert response.status_code == status
    if status == 200:
        assert str(services.SlotNotFound()) in response.content.decode()
    assert not Closure.objects.exists()
    booked_slot.refresh_from_db()
    assert booked_slot.status == SlotStatus.OPEN
    assert booked_slot.appointments.get().status == AppointmentStatus.BOOKED
    assert not Message.objects.filter(body__contains="Typhoon").exists()


def test_rule_is_not_deleted_when_its_slots_cannot_be_retired(
    nurse_client, clinic, service, monkeypatch
):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=2)
    services.sync_rule_slots(rule)
    slots = Slot.objects.filter(rule=rule).count()

    def retire_then_refuse(rule, **kwargs):
        real_retire_rule(rule, **kwargs)
        raise services.SlotNotFound()

    real_retire_rule = services.retire_rule
    monkeypatch.setattr(services, "retire_rule", retire_then_refuse)
    response = nurse_client.post(reverse("booking_schedules:delete", args=[rule.pk]))
    assert response.status_code == 200
    assert any(str(services.SlotNotFound()) in str(m) for m in response.context["messages"])
    assert ScheduleRule.objects.filter(pk=rule.pk).exists()
    assert Slot.objects.filter(rule=rule).count() == slots


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
    assert appointment.check_in_code in html and 'value="completed"' not in html

    response = nurse_client.post(
        url,
        {"clinic": clinic.pk, "action": "completed", "appointment": appointment.pk},
        follow=True,
    )
    assert "only on or after its day" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_service_taken_off_a_clinic_takes_no_new_bookings(nurse_client, clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, capacity=2, weekday=2)
    services.sync_rule_slots(rule)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = services.book(UserFactory(), booked_slot.pk)

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
