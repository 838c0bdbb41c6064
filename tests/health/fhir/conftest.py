import json

import pytest

from health.fhir.access import issue_token
from tests.factories import StaffFactory, UserFactory

FHIR_JSON = "application/fhir+json"


class FhirClient:
    """A thin wrapper over Django's test client that speaks FHIR JSON."""

    def __init__(self, client, token=None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        out = {"HTTP_ACCEPT": FHIR_JSON}
        if self.token:
            out["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for key, value in headers.items():
            out["HTTP_" + key.upper().replace("-", "_")] = value
        return out

    def get(self, url, data=None, **headers):
        return self.client.get(url, data, **self._headers(headers))

    def post(self, url, body, content_type=FHIR_JSON, **headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(url, data, content_type=content_type, **self._headers(headers))

    def put(self, url, body, content_type=FHIR_JSON, **headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.put(url, data, content_type=content_type, **self._headers(headers))

    def delete(self, url, **headers):
        return self.client.delete(url, **self._headers(headers))


def make_clinic_staff(clinics=None):
    """A clinic staff member (with MFA: staff must have it before they can use anything,
    portal.accounts.middleware).

    Without `clinics`, one who may open every patient's record (a superuser): for the tests
    of the API and the record pages, which are not about which patients a clinic may open.
    With `clinics`, a nurse of those clinics, who may open the patients they know
    (tests/health/records/test_patient_scope.py).
    """
    if clinics is None:
        return StaffFactory(clinic_staff=True, mfa=True, superuser=True)
    return StaffFactory(clinic_staff=True, mfa=True, clinics=clinics)


@pytest.fixture
def staff_user(db):
    return make_clinic_staff()


@pytest.fixture
def staff_api(client, staff_user):
    client.force_login(staff_user)
    return FhirClient(client)


@pytest.fixture
def anon_api(db):
    from django.test import Client

    return FhirClient(Client())


@pytest.fixture
def make_token_api(db):
    from django.test import Client

    def make(scopes, patient_id=""):
        _token, text = issue_token("test system", scopes, patient_id=patient_id)
        return FhirClient(Client(), token=text)

    return make


@pytest.fixture
def make_resident_api(db):
    """A signed-in resident linked to the given Patient ids."""
    from django.test import Client

    from health.fhir.models import PatientLink

    def make(*patient_ids):
        user = UserFactory()
        for pid in patient_ids:
            PatientLink.objects.create(user=user, patient_id=pid)
        client = Client()
        client.force_login(user)
        api = FhirClient(client)
        api.user = user
        return api

    return make


def patient_body(family="Chan", given="Tai Man", birth="1980-05-17", gender="male", ident="A123"):
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://district.example/hkid", "value": ident}],
        "name": [{"family": family, "given": [given]}],
        "gender": gender,
        "birthDate": birth,
    }


def observation_body(
    patient_id,
    code="8867-4",
    value=72,
    when="2024-03-01T10:00:00+08:00",
    category="vital-signs",
    encounter_id=None,
):
    body = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }
    if encounter_id:
        body["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return body


@pytest.fixture
def create(staff_api):
    """Create a resource through the API as clinic staff; returns the stored JSON."""

    def make(body):
        response = staff_api.post(f"/fhir/{body['resourceType']}", body)
        assert response.status_code == 201, response.content
        return response.json()

    return make
