"""Clinic booking's Schedule, Slot, Appointment (and clinic Locations) through /fhir/:
read-only projections with the store's access rules, Bundles and audit trail."""

from datetime import timedelta

from django.utils import timezone

import pytest
from fhir.resources.R4B import get_fhir_model_class

from health.booking.models import AppointmentStatus
from health.fhir.models import AuditEvent, PatientLink
from tests.factories import UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ScheduleRuleFactory,
    ServiceFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db


def valid(resource):
    """The resource, after checking it against fhir.resources' R4B model."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def ids(bundle):
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [valid(e["resource"])["id"] for e in bundle.get("entry", [])]


def assert_outcome(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    valid(body)
    return body


@pytest.fixture
def booking(db):
    """A clinic with one service and rules; two residents, one linked to Patient/p-ann,
    with appointments on two days; Ann also books for her child."""
    service = ServiceFactory(code="general", name_en="General practice")
    clinic = ClinicFactory(services=[service])
    ScheduleRuleFactory(clinic=clinic, service=service)
    first = SlotFactory(clinic=clinic, service=service, capacity=3)
    second = SlotFactory(
        clinic=clinic, service=service, capacity=2, start=first.start + timedelta(days=2)
    )
    ann, bob = UserFactory(), UserFactory()
    PatientLink.objects.create(user=ann, patient_id="p-ann")
    PatientLink.objects.create(user=bob, patient_id="p-bob")
    data = {
        "service": service,
        "clinic": clinic,
        "first": first,
        "second": second,
        "ann": ann,
        "bob": bob,
        "ann_first": AppointmentFactory(slot=first, resident=ann),
        "ann_child": AppointmentFactory(
            slot=first, resident=ann, dependant=DependantFactory(owner=ann)
        ),
        "ann_second": AppointmentFactory(
            slot=second, resident=ann, status=AppointmentStatus.CANCELLED
        ),
        "bob_first": AppointmentFactory(slot=first, resident=bob),
    }
    return type("Booking", (), data)


def fid(obj):
    return f"booking-{obj.pk}"


def schedule_id(b):
    return f"booking-{b.clinic.pk}-{b.service.pk}"


# -- staff and tokens see everything ----------------------------------------------------------


def test_staff_reads_each_type(staff_api, booking):
    urls = {
        "Appointment": fid(booking.ann_first),
        "Slot": fid(booking.first),
        "Schedule": schedule_id(booking),
        "Location": f"booking-clinic-{booking.clinic.pk}",
    }
    for rtype, rid in urls.items():
        response = staff_api.get(f"/fhir/{rtype}/{rid}")
        assert response.status_code == 200, (rtype, response.content)
        assert response["Content-Type"].startswith("application/fhir+json")
        resource = valid(response.json())
        assert (resource["resourceType"], resource["id"]) == (rtype, rid)
    # The booker's linked Patient is the Appointment's subject; a child is not that Patient.
    ann = staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}").json()
    assert ann["participant"][0]["actor"]["reference"] == "Patient/p-ann"
    child = staff_api.get(f"/fhir/Appointment/{fid(booking.ann_child)}").json()
    assert "reference" not in child["participant"][0]["actor"]


def test_unknown_ids_are_the_stores_404(staff_api, booking):
    for url in (
        "/fhir/Appointment/booking-999999",
        "/fhir/Slot/nonsense",
        f"/fhir/Schedule/booking-{booking.clinic.pk}-999999",
        "/fhir/Location/booking-clinic-999999",
    ):
        body = assert_outcome(staff_api.get(url), 404)
        assert body["issue"][0]["code"] == "not-found"


def test_staff_searches_each_type(staff_api, booking):
    bundle = staff_api.get("/fhir/Appointment").json()
    assert bundle["total"] == 4
    assert set(ids(bundle)) == {
        fid(a)
        for a in (booking.ann_first, booking.ann_child, booking.ann_second, booking.bob_first)
    }
    assert bundle["link"][0]["relation"] == "self"
    assert bundle["link"][0]["url"].endswith("/fhir/Appointment?_count=50")
    slots = staff_api.get("/fhir/Slot", {"schedule": f"Schedule/{schedule_id(booking)}"}).json()
    assert ids(slots) == [fid(booking.first), fid(booking.second)]
    schedules = staff_api.get(
        "/fhir/Schedule", {"actor": f"Location/booking-clinic-{booking.clinic.pk}"}
    ).json()
    assert ids(schedules) == [schedule_id(booking)]
    assert schedules["total"] == 1
    # POST _search is a search, not a write.
    posted = staff_api.post(
        "/fhir/Slot/_search", "status=busy", content_type="application/x-www-form-urlencoded"
    )
    assert posted.status_code == 200, posted.content
    assert ids(posted.json()) == [fid(booking.first)]


def test_date_and_status_filters(staff_api, booking):
    day = timezone.localdate(booking.first.start).isoformat()
    on_day = staff_api.get("/fhir/Appointment", {"date": day}).json()
    assert set(ids(on_day)) == {
        fid(booking.ann_first),
        fid(booking.ann_child),
        fid(booking.bob_first),
    }
    cancelled = staff_api.get("/fhir/Appointment", {"status": "cancelled"}).json()
    assert ids(cancelled) == [fid(booking.ann_second)]
    later = staff_api.get("/fhir/Slot", {"start": f"gt{day}"}).json()
    assert ids(later) == [fid(booking.second)]
    both = staff_api.get("/fhir/Appointment", {"date": f"gt{day}", "status": "booked"}).json()
    assert ids(both) == [] and both["total"] == 0


def test_count_limits_the_page_and_drops_an_unknown_total(staff_api, booking):
    bundle = staff_api.get("/fhir/Appointment", {"_count": "2"}).json()
    assert len(ids(bundle)) == 2
    assert "total" not in bundle  # more may match, and booking searches are not paged
    assert [link["relation"] for link in bundle["link"]] == ["self"]


def test_tokens_need_matching_scopes(make_token_api, booking):
    api = make_token_api("system/Appointment.rs system/Slot.rs")
    assert api.get(f"/fhir/Appointment/{fid(booking.bob_first)}").status_code == 200
    assert len(ids(api.get("/fhir/Appointment").json())) == 4
    assert ids(api.get("/fhir/Slot", {"status": "free"}).json()) == [fid(booking.second)]
    assert_outcome(api.get(f"/fhir/Schedule/{schedule_id(booking)}"), 403)
    assert_outcome(api.get("/fhir/Schedule"), 403)
    read_only = make_token_api("user/Appointment.r")
    assert read_only.get(f"/fhir/Appointment/{fid(booking.bob_first)}").status_code == 200
    assert_outcome(read_only.get("/fhir/Appointment"), 403)


def test_patient_token_sees_that_patients_appointments_only(make_token_api, booking):
    api = make_token_api("patient/*.rs", patient_id="p-ann")
    # Ann's own bookings; not her child's (another person) nor Bob's.
    assert set(ids(api.get("/fhir/Appointment").json())) == {
        fid(booking.ann_first),
        fid(booking.ann_second),
    }
    assert_outcome(api.get(f"/fhir/Appointment/{fid(booking.bob_first)}"), 404)
    assert_outcome(api.get(f"/fhir/Appointment/{fid(booking.ann_child)}"), 404)
    assert api.get(f"/fhir/Appointment/{fid(booking.ann_first)}").status_code == 200
    assert ids(api.get("/fhir/Appointment", {"patient": "Patient/p-bob"}).json()) == []
    # Slots are in no patient's compartment: like the store's Locations, not for patient/ scopes.
    assert ids(api.get("/fhir/Slot").json()) == []
    assert_outcome(api.get(f"/fhir/Slot/{fid(booking.first)}"), 404)


def test_search_by_patient(staff_api, booking):
    bundle = staff_api.get("/fhir/Appointment", {"patient": "Patient/p-ann"}).json()
    assert set(ids(bundle)) == {fid(booking.ann_first), fid(booking.ann_second)}
    assert bundle["total"] == 2
    bare = staff_api.get("/fhir/Appointment", {"patient": "p-bob"}).json()
    assert ids(bare) == [fid(booking.bob_first)]
    either = staff_api.get("/fhir/Appointment", {"patient": "Patient/p-bob,Patient/p-ann"})
    assert len(ids(either.json())) == 3
    unlinked = staff_api.get("/fhir/Appointment", {"patient": "Patient/nobody"}).json()
    assert ids(unlinked) == [] and unlinked["total"] == 0


# -- residents: their own bookings only ---------------------------------------------------------


def test_resident_sees_own_appointments_only(booking):
    from django.test import Client

    from tests.health.fhir.conftest import FhirClient

    client = Client()
    client.force_login(booking.ann)
    ann = FhirClient(client)
    mine = {fid(booking.ann_first), fid(booking.ann_child), fid(booking.ann_second)}
    assert set(ids(ann.get("/fhir/Appointment").json())) == mine
    by_patient = ann.get("/fhir/Appointment", {"patient": "Patient/p-ann"}).json()
    assert set(ids(by_patient)) == {fid(booking.ann_first), fid(booking.ann_second)}
    for appointment in (booking.ann_first, booking.ann_child):
        assert ann.get(f"/fhir/Appointment/{fid(appointment)}").status_code == 200
    # Bob's appointment: the same 404 as an id that does not exist.
    theirs = assert_outcome(ann.get(f"/fhir/Appointment/{fid(booking.bob_first)}"), 404)
    missing = assert_outcome(ann.get("/fhir/Appointment/booking-999999"), 404)
    assert theirs["issue"][0]["code"] == missing["issue"][0]["code"] == "not-found"
    others = ann.get("/fhir/Appointment", {"patient": "Patient/p-bob"}).json()
    assert ids(others) == [] and others["total"] == 0


def test_resident_without_a_linked_patient_still_sees_own_bookings(make_resident_api, booking):
    api = make_resident_api()
    own = AppointmentFactory(slot=booking.second, resident=api.user)
    assert ids(api.get("/fhir/Appointment").json()) == [fid(own)]
    assert api.get(f"/fhir/Appointment/{fid(own)}").status_code == 200
    assert_outcome(api.get(f"/fhir/Appointment/{fid(booking.ann_first)}"), 404)


def test_anonymous_is_refused_like_the_store(anon_api, booking):
    for url in (f"/fhir/Appointment/{fid(booking.ann_first)}", "/fhir/Slot"):
        response = anon_api.get(url)
        assert_outcome(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,params",
    [
        ("/fhir/Appointment", {"date": "yesterday"}),
        ("/fhir/Appointment", {"status": "maybe"}),
        ("/fhir/Appointment", {"subject": "Patient/p-ann"}),
        ("/fhir/Appointment", {"patient": "Group/g1"}),
        ("/fhir/Appointment", {"_count": "many"}),
        ("/fhir/Appointment", {"_offset": "50"}),
        ("/fhir/Appointment", {"date:missing": "true"}),
        ("/fhir/Slot", {"status": "booked"}),
        ("/fhir/Slot", {"patient": "Patient/p-ann"}),
        ("/fhir/Schedule", {"date": "2026"}),
    ],
)
def test_bad_search_parameters_are_400(staff_api, booking, url, params):
    body = assert_outcome(staff_api.get(url, params), 400)
    assert body["issue"][0]["diagnostics"]


def test_writes_are_405(staff_api, booking):
    appointment = staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}").json()
    attempts = [
        staff_api.post("/fhir/Appointment", appointment),
        staff_api.put(f"/fhir/Appointment/{fid(booking.ann_first)}", appointment),
        staff_api.put("/fhir/Appointment?status=booked", appointment),
        staff_api.delete(f"/fhir/Appointment/{fid(booking.ann_first)}"),
        staff_api.delete(f"/fhir/Slot/{fid(booking.first)}"),
        staff_api.delete(f"/fhir/Location/booking-clinic-{booking.clinic.pk}"),
        staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}/_history"),
        staff_api.get("/fhir/Schedule/_history"),
    ]
    for response in attempts:
        body = assert_outcome(response, 405)
        assert "read-only" in body["issue"][0]["diagnostics"]
    assert staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}").status_code == 200


def test_bundles_read_but_do_not_write_booking_resources(staff_api, booking):
    appointment = staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}").json()
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Appointment/{fid(booking.ann_first)}"}},
            {"request": {"method": "GET", "url": "Slot?status=free"}},
            {
                "resource": appointment,
                "request": {"method": "PUT", "url": f"Appointment/{fid(booking.ann_first)}"},
            },
        ],
    }
    # The base URL without its trailing slash reaches the same endpoint.
    response = staff_api.post("/fhir", batch)
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "200 OK"
    assert valid(entries[0]["resource"])["id"] == fid(booking.ann_first)
    assert ids(entries[1]["resource"]) == [fid(booking.second)]
    assert entries[2]["response"]["status"] == "405"
    transaction = {**batch, "type": "transaction", "entry": batch["entry"][2:]}
    assert_outcome(staff_api.post("/fhir/", transaction), 405)


# -- metadata and audit -------------------------------------------------------------------------


def test_metadata_lists_exactly_what_works(anon_api):
    from health.booking import fhir as booking_fhir

    cs = anon_api.get("/fhir/metadata").json()
    valid(cs)
    by_type = {r["type"]: r for r in cs["rest"][0]["resource"]}
    for rtype, params in booking_fhir.SUPPORTED.items():
        entry = by_type[rtype]
        assert {i["code"] for i in entry["interaction"]} == {"read", "search-type"}
        advertised = {p["name"] for p in entry["searchParam"]}
        expected = (params - {"_count"}) | ({"patient"} if rtype == "Appointment" else set())
        assert advertised == expected
    # The store's paging and include parameters are not claimed server-wide any more.
    assert cs["rest"][0]["searchParam"] == [{"name": "_count", "type": "number"}]
    assert "_offset" in {p["name"] for p in by_type["Observation"]["searchParam"]}
    assert "create" in {i["code"] for i in by_type["Location"]["interaction"]}


def test_reads_and_searches_are_audited(staff_api, staff_user, booking):
    AuditEvent.objects.all().delete()
    staff_api.get(f"/fhir/Appointment/{fid(booking.ann_first)}")
    read = AuditEvent.objects.get()
    assert (read.action, read.resource_type, read.resource_id, read.patient_id) == (
        "read",
        "Appointment",
        fid(booking.ann_first),
        "p-ann",
    )
    assert read.user == staff_user and read.role == "clinic-staff"

    AuditEvent.objects.all().delete()
    staff_api.get("/fhir/Appointment", {"status": "booked"})
    rows = {(e.action, e.patient_id, e.count) for e in AuditEvent.objects.all()}
    # One folded row per linked Patient touched, as the store writes for health data.
    assert rows == {("search", "p-ann", 1), ("search", "p-bob", 1)}
    assert all(e.resource_type == "Appointment" for e in AuditEvent.objects.all())

    AuditEvent.objects.all().delete()
    staff_api.get("/fhir/Appointment", {"patient": "Patient/nobody"})
    empty = AuditEvent.objects.get()
    assert (empty.action, empty.resource_type, empty.patient_id) == ("search", "Appointment", "")
    assert "patient=Patient/nobody" in empty.detail and "(0 found)" in empty.detail


def test_resident_sees_the_audit_of_their_appointments(make_resident_api, booking):
    api = make_resident_api("p-carol")
    own = AppointmentFactory(slot=booking.second, resident=api.user)
    AuditEvent.objects.all().delete()
    api.get(f"/fhir/Appointment/{fid(own)}")
    api.get("/fhir/Appointment")
    events = AuditEvent.objects.filter(patient_id="p-carol")
    assert {e.action for e in events} == {"read", "search"}
    assert all(e.user == api.user and e.role == "resident" for e in events)
