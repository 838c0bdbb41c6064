import json
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

import pytest

from bench.fhir_synthea import patient_bundle
from health.fhir.models import AuditEvent, Resource, ResourceVersion
from health.records.models import ActivationCode

from .conftest import load_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_find_patient_and_view_record(staff_client, staff):
    pid = load_patient(31, encounters=3)
    body = json.loads(Resource.objects.get(resource_id=pid).body)
    family = body["name"][0]["family"]
    found = staff_client.get(
        reverse("records_admin:search"), {"name": family, "birth_date": body["birthDate"]}
    )
    assert found.status_code == 200
    assert reverse("records_admin:patient", args=[pid]) in found.content.decode()
    page = staff_client.get(reverse("records_admin:patient", args=[pid]))
    assert page.status_code == 200
    assert "Allergy to peanuts" in page.content.decode()
    assert AuditEvent.objects.filter(user=staff, patient_id=pid, action="read").exists()


def test_residents_cannot_use_staff_screens(resident_client):
    pid = load_patient(32, encounters=1)
    for url in (reverse("records_admin:search"), reverse("records_admin:patient", args=[pid])):
        assert resident_client.get(url).status_code in (302, 403)


def test_add_vital_signs_writes_validated_observations(staff_client):
    pid = load_patient(33, encounters=1)
    url = reverse("records_admin:add", args=[pid, "vitals"])
    bad = staff_client.post(url, {"systolic": "120"})
    assert bad.status_code == 200
    before = Resource.objects.filter(resource_type="Observation").count()
    ok = staff_client.post(url, {"systolic": "128", "diastolic": "82", "weight": "70.5"})
    assert ok.status_code == 302
    assert Resource.objects.filter(resource_type="Observation").count() == before + 2
    latest = staff_client.get(
        f"/fhir/Observation?patient={pid}&code=85354-9&_sort=-_lastUpdated&_count=1",
        HTTP_ACCEPT="application/fhir+json",
    ).json()
    components = latest["entry"][0]["resource"]["component"]
    assert [c["valueQuantity"]["value"] for c in components] == [128.0, 82.0]


def test_add_condition_allergy_immunization_note(staff_client):
    pid = load_patient(34, encounters=1)
    for kind, data, rtype in (
        ("condition", {"text": "Asthma", "code": "195967001"}, "Condition"),
        ("allergy", {"text": "Penicillin allergy", "code": "91936005"}, "AllergyIntolerance"),
        (
            "immunization",
            {"text": "Influenza", "code": "140", "date": "2025-10-01"},
            "Immunization",
        ),
        ("note", {"reason": "Follow-up", "note": "Feeling better."}, "DocumentReference"),
    ):
        before = Resource.objects.filter(resource_type=rtype, patient_id=pid).count()
        response = staff_client.post(reverse("records_admin:add", args=[pid, kind]), data)
        assert response.status_code == 302, (kind, response.content[:300])
        assert Resource.objects.filter(resource_type=rtype, patient_id=pid).count() == before + 1


def test_entered_in_error_is_a_new_version(staff_client):
    pid = load_patient(35, encounters=1)
    allergy = Resource.objects.get(resource_type="AllergyIntolerance", patient_id=pid)
    url = reverse(
        "records_admin:entered-in-error", args=[pid, "AllergyIntolerance", allergy.resource_id]
    )
    stale = staff_client.post(url, {"version": "7"})
    assert stale.status_code == 302
    allergy.refresh_from_db()
    assert allergy.version_id == 1
    staff_client.post(url, {"version": "1"})
    allergy.refresh_from_db()
    assert allergy.version_id == 2
    assert ResourceVersion.objects.filter(current=allergy).count() == 2
    assert "entered-in-error" in allergy.body


def test_activation_code_shown_once(staff_client):
    pid = load_patient(36, encounters=1)
    response = staff_client.post(reverse("records_admin:activation-code", args=[pid]))
    assert response.status_code == 302
    page = staff_client.get(reverse("records_admin:patient", args=[pid])).content.decode()
    assert ActivationCode.objects.filter(patient_id=pid).count() == 1
    code = re.search(r"<strong>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</strong>", page)
    assert code, "the new code is shown"
    again = staff_client.get(reverse("records_admin:patient", args=[pid])).content.decode()
    assert code.group(1) not in again


def test_import_upload(staff_client):
    upload = SimpleUploadedFile(
        "p.json", json.dumps(patient_bundle(seed=37, encounters=2)).encode()
    )
    response = staff_client.post(reverse("records_admin:import"), {"file": upload})
    assert response.status_code == 200
    assert response.context["report"].total_created > 10
    broken = SimpleUploadedFile("b.json", b"{nope")
    response = staff_client.post(reverse("records_admin:import"), {"file": broken})
    assert response.context["report"].rejected


def test_a_nul_byte_in_a_patient_or_resource_id_is_not_found(staff_client):
    """Issue 10 §6: a NUL byte in the patient or resource id of the staff pages was a 500
    (PostgreSQL refuses NUL in text)."""
    staff_client.raise_request_exception = False
    pid = load_patient(seed=5, encounters=1)
    urls = [
        "/admin/health/patients/%00/",
        "/admin/health/patients/a%00b/documents/x/",
        f"/admin/health/patients/{pid}/documents/a%00b/",
        f"/admin/health/patients/{pid}/edit/note/a%00b/",
        "/admin/health/patients/a%00b/edit/note/x/",
        f"/admin/health/patients/{pid}/Condition/a%00b/entered-in-error/",
        "/admin/health/patients/a%00b/add/vitals/",
    ]
    for url in urls:
        assert staff_client.get(url).status_code == 404, url
    for url in (
        "/admin/health/patients/a%00b/activation-code/",
        f"/admin/health/patients/{pid}/Condition/a%00b/entered-in-error/",
        "/admin/health/patients/a%00b/add/vitals/",
    ):
        assert staff_client.post(url, {"version": "1"}).status_code in (404, 302), url
