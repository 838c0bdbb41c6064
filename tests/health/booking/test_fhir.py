"""Booking as FHIR R4 resources, validated with fhir.resources' R4B models."""

import json
from datetime import timedelta

from django.utils import timezone

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from health.booking import encounters, errors, fhir, rules, schedules
from tests.factories import UserFactory

from .factories import (
    DependantFactory,
    PractitionerFactory,
    ScheduleRuleFactory,
    SlotFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def test_schedule_and_location_are_valid(clinic, service):
    ScheduleRuleFactory(clinic=clinic, service=service)
    schedule = fhir.schedule_resource(clinic, service)
    FhirSchedule.model_validate(schedule)
    assert schedule["actor"][0]["reference"] == f"Location/booking-clinic-{clinic.pk}"
    assert "mon 09:00-10:00" in schedule["comment"]
    location = fhir.location_resource(clinic)
    FhirLocation.model_validate(location)
    assert location["position"]["latitude"] == pytest.approx(22.3)


def test_slot_status_follows_capacity_and_closure(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    FhirSlot.model_validate(fhir.slot_resource(slot))
    assert fhir.slot_resource(slot)["status"] == "free"
    rules.book(UserFactory(), slot.pk)
    slot.refresh_from_db()
    assert fhir.slot_resource(slot)["status"] == "busy"
    schedules.close_slot(slot, reason="Outage")
    slot.refresh_from_db()
    resource = fhir.slot_resource(slot)
    FhirSlot.model_validate(resource)
    assert resource["status"] == "busy-unavailable"
    assert resource["schedule"]["reference"] == f"Schedule/booking-{clinic.pk}-{service.pk}"


@pytest.mark.parametrize(
    "action,expected",
    [
        (None, "booked"),
        ("check_in", "checked-in"),
        ("complete", "fulfilled"),
        ("cancel", "cancelled"),
        ("no_show", "noshow"),
    ],
)
def test_appointment_statuses_are_valid_fhir(clinic, service, action, expected):
    practitioner = PractitionerFactory(clinic=clinic)
    # Tomorrow mid-morning: check-in five minutes early falls on the same day whatever the
    # time the suite runs (now + 5 hours crossed midnight for a few minutes each evening).
    slot = SlotFactory(
        clinic=clinic, service=service, start=tomorrow_at(10), practitioner=practitioner
    )
    resident = UserFactory()
    appointment = rules.book(resident, slot.pk, dependant=DependantFactory(owner=resident))
    later = slot.start + timedelta(minutes=1)
    if action == "check_in":
        rules.check_in(clinic, appointment.check_in_code, now=slot.start - timedelta(minutes=5))
    elif action == "complete":
        rules.mark_completed(appointment, now=later)
    elif action == "cancel":
        rules.cancel(appointment, by=resident, reason="Travel")
    elif action == "no_show":
        rules.mark_no_show(appointment, now=later)
    appointment.refresh_from_db()

    resource = fhir.appointment_resource(appointment)

    FhirAppointment.model_validate(resource)
    assert resource["status"] == expected
    assert resource["slot"] == [{"reference": f"Slot/booking-{slot.pk}"}]
    patient = resource["participant"][0]["actor"]
    assert patient["identifier"]["system"].endswith("household-member")
    if action == "cancel":
        assert resource["cancelationReason"]["text"] == "Travel"


def test_patient_reference_hook(slot, resident):
    appointment = rules.book(resident, slot.pk)
    resource = fhir.appointment_resource(
        appointment, patient_reference=lambda a: {"reference": "Patient/p-1", "display": "Chan"}
    )
    FhirAppointment.model_validate(resource)
    assert resource["participant"][0]["actor"]["reference"] == "Patient/p-1"


def test_search_appointments_by_date_status_and_compartment(clinic, service, resident):
    first = SlotFactory(clinic=clinic, service=service, capacity=2)
    second = SlotFactory(clinic=clinic, service=service, start=first.start + timedelta(days=2))
    mine = rules.book(resident, first.pk)
    mine_later = rules.book(resident, second.pk)
    rules.cancel(mine_later, by=resident)
    rules.book(UserFactory(), first.pk)

    day = timezone.localdate(first.start).isoformat()
    results = fhir.search("Appointment", {"date": [day]}, resident=resident)
    assert [r["id"] for r in results] == [f"booking-{mine.pk}"]
    results = fhir.search("Appointment", {"status": ["cancelled"]}, resident=resident)
    assert [r["id"] for r in results] == [f"booking-{mine_later.pk}"]
    results = fhir.search("Appointment", {"date": [f"ge{day}"], "_count": ["10"]})
    assert len(results) == 3
    with pytest.raises(fhir.SearchError):
        fhir.search("Appointment", {"date": ["yesterday"]})
    with pytest.raises(fhir.SearchError):
        fhir.search("Appointment", {"subject": ["x"]})
    with pytest.raises(fhir.SearchError):
        fhir.search("Appointment", {"status": ["maybe"]})


def test_search_slots_and_read(clinic, service):
    free = SlotFactory(clinic=clinic, service=service, capacity=1)
    full = SlotFactory(
        clinic=clinic, service=service, capacity=1, start=free.start + timedelta(hours=1)
    )
    rules.book(UserFactory(), full.pk)
    results = fhir.search("Slot", {"status": ["free"], "service-type": [service.code]})
    assert [r["id"] for r in results] == [f"booking-{free.pk}"]
    schedule = f"Schedule/booking-{clinic.pk}-{service.pk}"
    assert len(fhir.search("Slot", {"schedule": [schedule]})) == 2
    assert fhir.read("Slot", f"booking-{full.pk}")["status"] == "busy"
    assert fhir.read("Slot", "booking-999999") is None
    assert fhir.read("Slot", "../etc") is None
    schedules = fhir.search("Schedule", {"actor": [f"Location/booking-clinic-{clinic.pk}"]})
    assert [s["id"] for s in schedules] == [f"booking-{clinic.pk}-{service.pk}"]
    assert fhir.read("Schedule", f"booking-{clinic.pk}-{service.pk}")["active"] is True


def test_read_respects_the_resident_compartment(slot, resident):
    theirs = rules.book(UserFactory(), slot.pk)
    assert fhir.read("Appointment", f"booking-{theirs.pk}", resident=resident) is None
    assert fhir.read("Appointment", f"booking-{theirs.pk}")["id"] == f"booking-{theirs.pk}"


def test_completed_visit_becomes_an_encounter_in_the_linked_record(slot, resident):
    from fhir.resources.R4B.encounter import Encounter as FhirEncounter

    from health.fhir.access import system_requester
    from health.fhir.models import PatientLink, Resource
    from health.fhir.store import create_resource

    patient = create_resource(
        "Patient",
        {"resourceType": "Patient", "name": [{"family": "Chan", "given": ["Tai Man"]}]},
        requester=system_requester("test"),
    ).resource
    PatientLink.objects.create(user=resident, patient_id=patient.resource_id)
    appointment = rules.book(resident, slot.pk)

    # A visit is completed on its day (the slot is tomorrow's).
    rules.mark_completed(appointment, now=slot.start + timedelta(minutes=15))
    encounters.record_encounter(appointment)  # a second call records nothing more

    [encounter] = Resource.objects.filter(resource_type="Encounter", deleted=False)
    body = json.loads(encounter.body)
    FhirEncounter.model_validate(body)
    assert body["subject"]["reference"] == f"Patient/{patient.resource_id}"
    assert body["status"] == "finished"
    assert encounter.patient_id == patient.resource_id


def test_no_encounter_without_a_linked_patient(slot, resident):
    from health.fhir.models import Resource

    appointment = rules.book(resident, slot.pk)
    rules.mark_completed(appointment, now=slot.start + timedelta(minutes=15))
    assert not Resource.objects.filter(resource_type="Encounter").exists()


def test_refused_booking_as_operation_outcome(clinic, service):
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    with pytest.raises(errors.BookingError) as full:
        rules.book(UserFactory(), slot.pk)
    status, outcome = fhir.booking_error_outcome(full.value)
    OperationOutcome.model_validate(outcome)
    assert status == 409
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "full"
    assert fhir.booking_error_outcome(errors.SlotNotFound())[0] == 404
    assert fhir.booking_error_outcome(errors.BeyondHorizon(days=56))[0] == 422


IMPOSSIBLE_DATES = [
    "2026-02-30",  # no such day
    "2026-05-01T25:00:00",  # no such hour
    "2026-05-01T10:00:00+99:00",  # no such offset
    "2026-05-01T10:00:00\x00",
    "2026-5-1",  # not FHIR's format
    "xx2026-05-01",  # no such prefix
]
# Real dates at the ends of the calendar: FHIR's parser clamps their ranges to year 1 ..
# 9999 (for stored and projected types alike) instead of refusing them.
CALENDAR_EDGES = ["ge9999-12-31", "le9999-12-31", "9999-12-31T23:59:59", "0001-01-01"]


@pytest.mark.parametrize("value", IMPOSSIBLE_DATES)
@pytest.mark.parametrize("resource_type,param", [("Appointment", "date"), ("Slot", "start")])
def test_impossible_search_dates_are_search_errors(slot, resource_type, param, value):
    with pytest.raises(fhir.SearchError):
        fhir.search(resource_type, {param: [value]})


@pytest.mark.parametrize("value", IMPOSSIBLE_DATES)
@pytest.mark.parametrize("resource_type,param", [("Appointment", "date"), ("Slot", "start")])
def test_impossible_search_dates_are_a_400_outcome_through_the_api(
    client, slot, resource_type, param, value
):
    from .conftest import make_staff

    client.force_login(make_staff(slot.clinic))
    client.raise_request_exception = False
    response = client.get(
        f"/fhir/{resource_type}", {param: value}, HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "resource_type,params",
    [
        ("Appointment", {"service-type": ["gen\x00eral"]}),
        ("Slot", {"service-type": ["gen\x00eral"]}),
        ("Schedule", {"service-type": ["gen\x00eral"]}),
        ("Schedule", {"actor": ["Location/booking-clinic-1\x00"]}),
    ],
)
def test_nul_in_a_search_value_is_a_search_error(slot, resource_type, params):
    with pytest.raises(fhir.SearchError):
        fhir.search(resource_type, params)


@pytest.mark.parametrize("value", CALENDAR_EDGES)
@pytest.mark.parametrize("resource_type,param", [("Appointment", "date"), ("Slot", "start")])
def test_dates_at_the_ends_of_the_calendar_are_answered(slot, resource_type, param, value):
    expected = [f"booking-{slot.pk}"] if value == "le9999-12-31" and resource_type == "Slot" else []
    assert [r["id"] for r in fhir.search(resource_type, {param: [value]})] == expected


def test_dates_at_the_edge_of_the_calendar_still_search(slot):
    day = timezone.localdate(slot.start).isoformat()
    assert [r["id"] for r in fhir.search("Slot", {"start": [f"ge{day}", "le9999-12-30"]})] == [
        f"booking-{slot.pk}"
    ]
    assert fhir.search("Slot", {"start": ["lt0001-01-02"]}) == []
