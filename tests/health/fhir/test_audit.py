"""The store audits every read and write itself (issue 9 §4): no caller has to remember."""

import json
from datetime import timedelta

from django.db import transaction

import pytest

from health.fhir import links, projections, store
from health.fhir.access import requester_for_user, system_requester
from health.fhir.models import AuditEvent, PatientLink
from health.fhir.search import search_page
from tests.factories import UserFactory

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


def rows(**filters):
    return list(AuditEvent.objects.filter(**filters).values_list("action", "patient_id", "count"))


def test_every_store_function_writes_its_own_audit_row():
    system = system_requester("lab system")
    patient = store.create_resource("Patient", patient_body(), requester=system).resource
    pid = patient.resource_id
    assert rows(action="create", resource_type="Patient") == [("create", pid, 1)]
    obs = store.create_resource("Observation", observation_body(pid), requester=system).resource
    store.read_resource("Observation", obs.resource_id, requester=system)
    store.read_version("Observation", obs.resource_id, 1, requester=system)
    body = {**json.loads(obs.body), "status": "amended"}
    store.update_resource("Observation", obs.resource_id, body, requester=system)
    search_page("Observation", [("patient", pid)], system)
    store.history("Observation", obs.resource_id, requester=system, count=10)
    store.delete_resource("Observation", obs.resource_id, requester=system)
    actions = [a for a, p, _c in rows(patient_id=pid, resource_type="Observation")]
    assert sorted(actions) == sorted(
        ["create", "read", "vread", "update", "search", "history", "history", "delete"]
    )
    assert set(AuditEvent.objects.values_list("actor", flat=True)) == {"lab system"}


def test_a_call_without_a_requester_is_audited_as_the_server():
    patient = store.create_resource("Patient", patient_body()).resource
    store.read_resource("Patient", patient.resource_id)
    assert set(AuditEvent.objects.values_list("role", "actor", "action")) == {
        ("system", "system", "create"),
        ("system", "system", "read"),
    }


def test_a_rolled_back_write_leaves_no_audit_row():
    system = system_requester()
    with pytest.raises(RuntimeError), transaction.atomic():
        store.create_resource("Patient", patient_body(), requester=system)
        raise RuntimeError
    assert not AuditEvent.objects.exists()


def test_collected_reads_are_one_insert_and_forgotten_collecting_loses_nothing(
    django_assert_num_queries,
):
    system = system_requester()
    pid = store.create_resource("Patient", patient_body(), requester=system).resource.resource_id
    AuditEvent.objects.all().delete()
    user = UserFactory()
    PatientLink.objects.create(user=user, patient_id=pid)
    resident = requester_for_user(user)
    # Without collecting, each read writes its row at once.
    store.read_resource("Patient", pid, requester=resident)
    search_page("Observation", [("patient", pid)], resident)
    assert AuditEvent.objects.count() == 2
    # Collected: the same reads, folded into the rows written at the end of the block.
    # read, search (count + page): no INSERT until the block ends
    with resident.audit.collecting(), django_assert_num_queries(3):
        store.read_resource("Patient", pid, requester=resident)
        search_page("Observation", [("patient", pid)], resident)
    assert AuditEvent.objects.count() == 4


def test_the_encounter_of_a_completed_visit_is_audited(db):
    from health.booking import rules as booking
    from tests.health.booking.factories import ClinicFactory, ServiceFactory, SlotFactory

    service = ServiceFactory(code="general")
    slot = SlotFactory(clinic=ClinicFactory(services=[service]), service=service)
    resident = UserFactory()
    pid = store.create_resource("Patient", patient_body()).resource.resource_id
    PatientLink.objects.create(user=resident, patient_id=pid)
    appointment = booking.book(resident, slot.pk)
    booking.mark_completed(appointment, now=slot.start + timedelta(minutes=15))
    [event] = AuditEvent.objects.filter(resource_type="Encounter")
    assert (event.action, event.patient_id, event.actor) == ("create", pid, "booking")


def test_linking_an_account_is_audited_on_the_patients_trail():
    user = UserFactory()
    links.link(user, "p-1", requester_for_user(user))
    links.link(user, "p-1", requester_for_user(user))  # already linked: nothing more
    assert rows(patient_id="p-1") == [("update", "p-1", 1)]
    assert links.linked_patient_ids(user) == {"p-1"}


def test_audit_rows_name_the_app_a_requester_acts_through():
    user = UserFactory()
    pid = store.create_resource("Patient", patient_body()).resource.resource_id
    PatientLink.objects.create(user=user, patient_id=pid)
    requester = requester_for_user(user)
    requester.app = "Step Counter"
    store.read_resource("Patient", pid, requester=requester)
    event = AuditEvent.objects.get(action="read")
    assert (event.app, event.user, event.patient_id) == ("Step Counter", user, pid)


def test_booking_registers_its_projections_from_its_own_app():
    from health.booking.fhir import BookingProjection

    registered = projections.registered()
    assert [type(p) for p in registered] == [BookingProjection]
    assert {"Appointment", "Slot", "Schedule"} <= registered[0].types
    assert projections.is_projected("Location", "booking-clinic-3")
    assert not projections.is_projected("Location", "some-stored-location")
    assert not projections.is_projected("Location")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reads_outside_a_transaction_are_written_in_one_statement():
    """A read's audit rows outside any transaction are one INSERT, sent alone (no BEGIN and
    COMMIT round trips around a statement that is atomic by itself); inside a transaction
    they are written in it, and roll back with it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    system = system_requester("lab system")
    pid = store.create_resource("Patient", patient_body(), requester=system).resource.resource_id
    store.create_resource("Observation", observation_body(pid), requester=system)
    reader = system_requester("reader")
    searches = ([("patient", pid)], [("patient", pid), ("category", "vital-signs")])
    with CaptureQueriesContext(connection) as captured, reader.audit.collecting():
        for params in searches:
            search_page("Observation", params, reader, count_total=False)
    writes = [q["sql"] for q in captured.captured_queries if "fhir_auditevent" in q["sql"]]
    control = [q["sql"] for q in captured.captured_queries if q["sql"] in ("BEGIN", "COMMIT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT") and control == []
    assert rows(actor="reader") == [("search", pid, 1)] * 2
    with pytest.raises(RuntimeError), transaction.atomic():
        search_page("Observation", searches[0], reader, count_total=False)
        assert len(rows(actor="reader")) == 3
        raise RuntimeError
    assert len(rows(actor="reader")) == 2
