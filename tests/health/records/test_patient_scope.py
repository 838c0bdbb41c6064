"""Which patients clinic staff may open (docs/architecture.md, "Staff scope"): the patients
their clinics know (registered there, or booked there for themselves), others only through
break-glass with a reason; superusers all. Every staff read is audited."""

import json
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking.models import ClinicPatient
from health.fhir.access import system_requester
from health.fhir.models import AuditEvent, PatientLink
from health.fhir.store import create_resource
from health.records.models import EmergencyAccess
from tests.factories import StaffFactory, UserFactory
from tests.health.booking.factories import AppointmentFactory, ClinicFactory, SlotFactory
from tests.health.fhir.conftest import FHIR_JSON, make_clinic_staff
from tests.health.records.conftest import english

pytestmark = pytest.mark.django_db


def new_patient(identifier):
    system = system_requester("test")
    pid = create_resource(
        "Patient",
        {
            "resourceType": "Patient",
            "name": [{"family": "Chan", "given": ["Tai Man"]}],
            "birthDate": "1970-01-01",
            "identifier": [{"system": "urn:test:id", "value": identifier}],
        },
        requester=system,
    ).resource.resource_id
    create_resource(
        "Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Heart rate"},
            "subject": {"reference": f"Patient/{pid}"},
            "valueQuantity": {"value": 72, "unit": "/min"},
        },
        requester=system,
    )
    return pid


@pytest.fixture
def clinics():
    return ClinicFactory(), ClinicFactory()


@pytest.fixture
def patients(clinics):
    """A patient registered at clinic A, one at clinic B, one who booked at clinic A."""
    clinic_a, clinic_b = clinics
    at_a, at_b, booked = new_patient("A-1"), new_patient("B-1"), new_patient("A-2")
    ClinicPatient.objects.create(clinic=clinic_a, patient_id=at_a)
    ClinicPatient.objects.create(clinic=clinic_b, patient_id=at_b)
    resident = UserFactory()
    PatientLink.objects.create(user=resident, patient_id=booked)
    AppointmentFactory(resident=resident, slot=SlotFactory(clinic=clinic_a))
    return {"at_a": at_a, "at_b": at_b, "booked_at_a": booked}


@pytest.fixture
def nurse_a(clinics):
    return make_clinic_staff(clinics=[clinics[0]])


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def fhir_get(client, url, data=None):
    return client.get(url, data, HTTP_ACCEPT=FHIR_JSON)


def test_a_nurse_cannot_open_a_patient_only_another_clinic_knows(nurse_a, patients):
    client = signed_in(nurse_a)
    other = patients["at_b"]
    assert client.get(reverse("records_admin:patient", args=[other])).status_code == 404
    assert fhir_get(client, f"/fhir/Patient/{other}").status_code == 404
    found = json.loads(fhir_get(client, "/fhir/Observation", {"patient": other}).content)
    assert found.get("entry", []) == []
    everyone = json.loads(fhir_get(client, "/fhir/Patient").content)
    ids = {e["resource"]["id"] for e in everyone.get("entry", [])}
    assert other not in ids and patients["at_a"] in ids
    search = client.get(reverse("records_admin:search"), {"identifier": "B-1"}).content.decode()
    assert other not in search
    # Writes are refused too, and change nothing.
    code = client.post(reverse("records_admin:activation-code", args=[other]))
    assert code.status_code == 404
    client.post(reverse("records_admin:add", args=[other, "vitals"]), {"heart_rate": "80"})
    observations = json.loads(
        fhir_get(signed_in(make_clinic_staff()), "/fhir/Observation", {"patient": other}).content
    )
    assert len(observations["entry"]) == 1  # the one written before; the nurse's was refused


def test_a_nurse_opens_her_clinics_patients_and_every_read_is_audited(nurse_a, patients):
    client = signed_in(nurse_a)
    for pid in (patients["at_a"], patients["booked_at_a"]):
        before = AuditEvent.objects.filter(user=nurse_a, patient_id=pid).count()
        page = client.get(reverse("records_admin:patient", args=[pid]))
        assert page.status_code == 200 and "Chan" in page.content.decode()
        after_page = AuditEvent.objects.filter(user=nurse_a, patient_id=pid).count()
        assert after_page > before
        assert fhir_get(client, f"/fhir/Patient/{pid}").status_code == 200
        assert (
            AuditEvent.objects.filter(
                user=nurse_a, patient_id=pid, action="read", resource_type="Patient"
            ).count()
            >= 1
        )
        assert AuditEvent.objects.filter(user=nurse_a, patient_id=pid).count() > after_page
    # Nothing of the other clinic's patient was read, so nothing of it is in her trail.
    assert not AuditEvent.objects.filter(user=nurse_a, patient_id=patients["at_b"]).exists()


def test_a_dependants_appointment_does_not_open_the_booking_residents_record(clinics):
    from tests.health.booking.factories import DependantFactory

    pid = new_patient("P-9")
    parent = UserFactory()
    PatientLink.objects.create(user=parent, patient_id=pid)
    AppointmentFactory(
        resident=parent,
        dependant=DependantFactory(owner=parent),
        slot=SlotFactory(clinic=clinics[0]),
    )
    nurse = make_clinic_staff(clinics=[clinics[0]])
    assert fhir_get(signed_in(nurse), f"/fhir/Patient/{pid}").status_code == 404


def test_a_patient_a_nurse_creates_is_registered_with_her_clinic(nurse_a, clinics):
    client = signed_in(nurse_a)
    created = client.post(
        "/fhir/Patient",
        json.dumps({"resourceType": "Patient", "name": [{"family": "Lee"}]}),
        content_type=FHIR_JSON,
        HTTP_ACCEPT=FHIR_JSON,
    )
    assert created.status_code == 201
    pid = json.loads(created.content)["id"]
    assert ClinicPatient.objects.filter(clinic=clinics[0], patient_id=pid).exists()
    assert fhir_get(signed_in(nurse_a), f"/fhir/Patient/{pid}").status_code == 200
    nurse_b = make_clinic_staff(clinics=[clinics[1]])
    assert fhir_get(signed_in(nurse_b), f"/fhir/Patient/{pid}").status_code == 404


def test_a_transaction_bundle_of_a_new_patient_is_open_to_its_importer(nurse_a, clinics):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6f1c6a86-1f2e-4d0c-9d55-1b0f6f7c1a01",
                "resource": {"resourceType": "Patient", "name": [{"family": "Ho"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "Weight"},
                    "subject": {"reference": "urn:uuid:6f1c6a86-1f2e-4d0c-9d55-1b0f6f7c1a01"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    response = signed_in(nurse_a).post(
        "/fhir", json.dumps(bundle), content_type=FHIR_JSON, HTTP_ACCEPT=FHIR_JSON
    )
    assert response.status_code == 200, response.content
    pid = json.loads(response.content)["entry"][0]["response"]["location"].split("/")[1]
    assert ClinicPatient.objects.filter(clinic=clinics[0], patient_id=pid).exists()
    found = json.loads(fhir_get(signed_in(nurse_a), "/fhir/Observation", {"patient": pid}).content)
    assert len(found["entry"]) == 1


def test_a_nurse_cannot_write_into_another_clinics_patient_through_the_api(nurse_a, patients):
    response = signed_in(nurse_a).post(
        "/fhir/Observation",
        json.dumps(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Heart rate"},
                "subject": {"reference": f"Patient/{patients['at_b']}"},
            }
        ),
        content_type=FHIR_JSON,
        HTTP_ACCEPT=FHIR_JSON,
    )
    assert response.status_code in (403, 404, 422)
    assert not AuditEvent.objects.filter(
        user=nurse_a, patient_id=patients["at_b"], action="create"
    ).exists()


def test_break_glass_opens_the_record_for_a_while_with_the_reason_audited(nurse_a, patients):
    client = signed_in(nurse_a)
    other = patients["at_b"]
    url = reverse("records_admin:emergency")
    # No reason, no access.
    refused = client.post(url, {"patient": "B-1", "reason": ""})
    assert refused.status_code == 200 and not EmergencyAccess.objects.exists()
    reason = "Collapsed in the waiting room, needs allergy list"
    response = client.post(url, {"patient": "B-1", "reason": reason})
    assert response.status_code == 302
    assert response["Location"] == reverse("records_admin:patient", args=[other])
    grant = EmergencyAccess.objects.get()
    assert grant.user == nurse_a and grant.patient_id == other and grant.reason == reason
    assert AuditEvent.objects.filter(
        user=nurse_a, patient_id=other, detail__contains=reason
    ).exists()
    assert client.get(response["Location"]).status_code == 200
    assert fhir_get(client, f"/fhir/Patient/{other}").status_code == 200
    # When the grant runs out, the record closes again.
    EmergencyAccess.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("records_admin:patient", args=[other])).status_code == 404


def test_break_glass_names_an_unknown_patient_with_a_form_error(nurse_a, patients):
    english(nurse_a)
    response = signed_in(nurse_a).post(
        reverse("records_admin:emergency"), {"patient": "nobody", "reason": "x" * 20}
    )
    assert response.status_code == 200
    assert "No patient has this id or identifier." in response.content.decode()
    assert not EmergencyAccess.objects.exists()


def test_superusers_open_every_patient(patients):
    boss = StaffFactory(superuser=True, mfa=True)
    client = signed_in(boss)
    for pid in patients.values():
        assert fhir_get(client, f"/fhir/Patient/{pid}").status_code == 200


def test_patients_a_nurse_imports_are_registered_with_her_clinic(nurse_a, clinics):
    from django.core.files.uploadedfile import SimpleUploadedFile

    lines = [
        {"resourceType": "Patient", "id": "imported-1", "name": [{"family": "Yip"}]},
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Weight"},
            "subject": {"reference": "Patient/imported-1"},
        },
    ]
    upload = SimpleUploadedFile(
        "patients.ndjson", "\n".join(json.dumps(line) for line in lines).encode()
    )
    client = signed_in(nurse_a)
    response = client.post(reverse("records_admin:import"), {"file": upload})
    assert response.status_code == 200
    assert ClinicPatient.objects.filter(clinic=clinics[0], patient_id="imported-1").exists()
    assert client.get(reverse("records_admin:patient", args=["imported-1"])).status_code == 200
    nurse_b = make_clinic_staff(clinics=[clinics[1]])
    page = signed_in(nurse_b).get(reverse("records_admin:patient", args=["imported-1"]))
    assert page.status_code == 404
