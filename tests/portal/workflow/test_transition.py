"""portal.workflow: the table decides, one conditional UPDATE wins, and the history, the
notification and the effects come with the winning transition only. Appointments are the
model under test: the first user of the mechanism."""

import json
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation

import pytest

from health.booking import rules
from health.booking.errors import InvalidTransition, NotActive
from health.booking.models import Appointment, AppointmentStatus, Slot
from portal.notifications.models import Message
from portal.workflow import System, TransitionError, history, transition
from portal.workflow.errors import ReasonRequired, TransitionForbidden
from portal.workflow.http import error_response
from portal.workflow.models import StateChange
from tests.factories import StaffFactory, UserFactory
from tests.health.booking.conftest import make_staff
from tests.health.booking.factories import ClinicFactory, ServiceFactory, SlotFactory

postgres_only = pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="needs concurrent writers (PostgreSQL); SQLite serialises all writes",
)


def booked_appointment(capacity=2, clinic=None):
    service = ServiceFactory()
    clinic = clinic or ClinicFactory(services=[service])
    clinic.services.add(service)
    slot = SlotFactory(clinic=clinic, service=service, capacity=capacity)
    return rules.book(UserFactory(), slot.pk)


def changes(appointment):
    return list(history.records(appointment).values_list("step", flat=True))


@pytest.mark.django_db
def test_a_transition_the_table_does_not_have_is_refused_and_writes_nothing():
    appointment = booked_appointment()
    rules.cancel(appointment, by=appointment.resident)
    staff = make_staff(appointment.slot.clinic)

    with pytest.raises(InvalidTransition) as refused:
        transition(appointment, AppointmentStatus.CHECKED_IN, by=staff)

    assert refused.value.code == "invalid" and refused.value.http_status == 409
    with translation.override("en"):
        assert (
            str(refused.value) == "An appointment that is “Cancelled” cannot be changed like this."
        )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert changes(appointment) == ["book", "cancel"]


@pytest.mark.django_db
def test_who_may_is_checked():
    appointment = booked_appointment()
    resident = appointment.resident
    other_clinic_nurse = make_staff(ClinicFactory())
    stranger = UserFactory()

    # The resident cannot check themselves in; staff of another clinic cannot either; and
    # nobody but the resident (or the clinic) may cancel it.
    with pytest.raises(TransitionForbidden):
        transition(appointment, AppointmentStatus.CHECKED_IN, by=resident)
    with pytest.raises(TransitionForbidden):
        transition(appointment, AppointmentStatus.CHECKED_IN, by=other_clinic_nurse)
    with pytest.raises(TransitionForbidden):
        transition(appointment, AppointmentStatus.CANCELLED, by=stranger, step="cancel")
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED
    assert changes(appointment) == ["book"]

    nurse = make_staff(appointment.slot.clinic)
    change = transition(appointment, AppointmentStatus.CHECKED_IN, by=nurse)
    assert (change.actor_kind, change.record.actor) == ("staff", nurse)
    superuser = StaffFactory(superuser=True)
    transition(appointment, AppointmentStatus.COMPLETED, by=superuser)
    assert changes(appointment) == ["book", "check_in", "complete"]


@pytest.mark.django_db
def test_a_step_that_needs_a_reason_refuses_without_one():
    appointment = booked_appointment()
    with pytest.raises(ReasonRequired) as refused:
        transition(appointment, AppointmentStatus.CANCELLED, by=System("closure"), step="close")
    assert refused.value.http_status == 400
    assert Slot.objects.get(pk=appointment.slot_id).booked == 1
    assert changes(appointment) == ["book"]


@pytest.mark.django_db
def test_a_transition_lost_to_another_writes_nothing_and_says_so():
    appointment = booked_appointment()
    stale = Appointment.objects.get(pk=appointment.pk)
    rules.cancel(appointment, by=appointment.resident)
    messages = Message.objects.count()

    with pytest.raises(NotActive) as lost:
        rules.cancel(stale, by=stale.resident)

    assert lost.value.code == "lost"
    assert Slot.objects.get(pk=appointment.slot_id).booked == 0  # released once, not twice
    assert Message.objects.count() == messages
    assert changes(appointment) == ["book", "cancel"]


@pytest.mark.django_db
def test_the_history_row_holds_who_when_why_and_what_the_resident_reads():
    appointment = booked_appointment()
    when = timezone.now()
    rules.cancel(appointment, by=appointment.resident, reason="  Feeling   better ", now=when)
    row = history.records(appointment).last()
    assert (row.model, row.object_id) == ("booking.appointment", str(appointment.pk))
    assert (row.from_state, row.to_state, row.step) == ("booked", "cancelled", "cancel")
    assert (row.actor, row.actor_kind, row.at) == (appointment.resident, "resident", when)
    assert row.reason == "Feeling better"
    # Stored in its source language, shown in the reader's language of today.
    assert row.resident_text == "You cancelled this appointment."
    with translation.override("zh-hant"):
        entries = history.timeline(appointment)
    assert [e.title for e in entries] == ["已預約。", "你已取消這個預約。"]
    assert entries[1].reason == "Feeling better" and entries[1].note == ""


@pytest.mark.django_db
def test_staff_read_every_step_with_who_made_it_and_the_staff_note():
    appointment = booked_appointment()
    nurse = make_staff(appointment.slot.clinic, email="nurse@example.org")
    transition(appointment, AppointmentStatus.CHECKED_IN, by=nurse, note="Came with her daughter")
    rules.release_all_for(UserFactory())  # another account: nothing of this appointment
    with translation.override("en"):
        staff_view = history.timeline(appointment, audience=history.STAFF_AUDIENCE)
        resident_view = history.timeline(appointment)
    assert [e.title for e in staff_view] == ["Booked by the resident", "Checked in at the clinic"]
    assert "nurse@example.org" in staff_view[1].actor and "Staff" in staff_view[1].actor
    assert staff_view[1].note == "Came with her daughter"
    assert all(e.note == "" for e in resident_view)


@pytest.mark.django_db
def test_an_api_answers_a_refused_transition_with_409_json():
    appointment = booked_appointment()
    rules.cancel(appointment, by=appointment.resident)
    try:
        rules.cancel(appointment, by=appointment.resident)
    except TransitionError as error:
        response = error_response(error)
    assert response.status_code == 409
    body = json.loads(response.content)
    assert body == {"error": "invalid", "message": str(NotActive())}


@pytest.mark.django_db
def test_deleting_an_object_deletes_its_history():
    appointment = booked_appointment()
    resident = appointment.resident
    assert StateChange.objects.filter(object_id=str(appointment.pk)).exists()
    rules.release_all_for(resident)
    resident.delete()  # the account closes: its appointments and their history go
    assert not StateChange.objects.filter(
        model="booking.appointment", object_id=str(appointment.pk)
    ).exists()


def race(jobs):
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = ("won", job())
        except TransitionError as error:
            results[index] = ("lost", error)
        except Exception as error:  # anything else is a failure the test reports
            results[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_concurrent_transitions_from_one_state_exactly_one_wins():
    appointment = booked_appointment(capacity=3)
    nurse = make_staff(appointment.slot.clinic)
    resident = appointment.resident
    # Each thread holds its own copy read as "booked", as a request would.
    copies = [Appointment.objects.get(pk=appointment.pk) for _ in range(8)]
    jobs = [
        (lambda a=a: rules.cancel(a, by=resident, enforce_cutoff=False))
        if i % 2
        else (lambda a=a: transition(a, AppointmentStatus.CHECKED_IN, by=nurse))
        for i, a in enumerate(copies)
    ]

    results = race(jobs)

    assert [r for r in results if r[0] == "error"] == []
    assert [r[0] for r in results].count("won") == 1
    assert all(r[1].code == "lost" for r in results if r[0] == "lost")
    final = Appointment.objects.get(pk=appointment.pk)
    steps = changes(final)
    assert len(steps) == 2 and steps[0] == "book"
    assert final.status == {"cancel": "cancelled", "check_in": "checked_in"}[steps[1]]
    # The effects ran once: a cancellation gave its place back once, a check-in none.
    assert Slot.objects.get(pk=appointment.slot_id).booked == (0 if steps[1] == "cancel" else 1)
