from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from bench.fhir_synthea import patient_bundle
from health.fhir.models import (
    AuditEvent,
    ConditionalCreateKey,
    ReferenceIndex,
    Resource,
    ResourceVersion,
    TokenIndex,
)

from .conftest import patient_body

pytestmark = pytest.mark.django_db


def small_transaction():
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": patient_body(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                    "encounter": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"},
                    "valueQuantity": {"value": 70, "unit": "/min"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


def test_transaction_resolves_urn_uuid(staff_api):
    response = staff_api.post("/fhir/", small_transaction())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created"] * 3
    patient_loc = result["entry"][0]["response"]["location"]
    pid = patient_loc.split("/")[1]
    encounter_id = result["entry"][1]["response"]["location"].split("/")[1]
    obs_id = result["entry"][2]["response"]["location"].split("/")[1]
    obs = staff_api.get(f"/fhir/Observation/{obs_id}").json()
    assert obs["subject"]["reference"] == f"Patient/{pid}"
    assert obs["encounter"]["reference"] == f"Encounter/{encounter_id}"
    assert Resource.objects.get(resource_id=obs_id).patient_id == pid
    assert ReferenceIndex.objects.filter(param="encounter", target_id=encounter_id).count() == 1
    assert AuditEvent.objects.filter(action="create", patient_id=pid).count() == 3


@pytest.mark.parametrize(
    ("mutate", "expression"),
    [
        (lambda b: b["entry"][2]["resource"].pop("code"), "Bundle.entry[2].resource.code"),
        (
            lambda b: b["entry"][1].__setitem__("resource", {"resourceType": "Nonsense"}),
            "Bundle.entry[1].resource.resourceType",
        ),
        (
            lambda b: b["entry"][0]["resource"].__setitem__(
                "contained", [{"resourceType": "Foo", "id": "x"}]
            ),
            "Bundle.entry[0].resource.contained[0].resourceType",
        ),
        (
            lambda b: b["entry"][1]["request"].__setitem__("method", "PATCH"),
            "Bundle.entry[1].request.method",
        ),
        (
            lambda b: b["entry"][1]["request"].__setitem__("url", "Observation"),
            "Bundle.entry[1].resource.resourceType",
        ),
        (
            lambda b: b["entry"][2]["resource"]["subject"].__setitem__(
                "reference", "Patient?identifier=nobody"
            ),
            "Bundle.entry[2]",
        ),
    ],
)
def test_transaction_with_bad_entry_stores_nothing(staff_api, mutate, expression):
    bundle = small_transaction()
    mutate(bundle)
    response = staff_api.post("/fhir/", bundle)
    assert response.status_code in (400, 404, 412, 422), response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert expression in outcome["issue"][0]["expression"], outcome
    assert Resource.objects.count() == 0
    assert ResourceVersion.objects.count() == 0
    assert TokenIndex.objects.count() == 0
    assert AuditEvent.objects.filter(action="create").count() == 0


def test_transaction_failing_late_rolls_back_earlier_writes(staff_api, create):
    existing = create(patient_body(family="Existing"))
    bundle = small_transaction()
    # The PUT runs after the POSTs (FHIR order) and fails on a stale version.
    bundle["entry"].append(
        {
            "resource": {**patient_body(family="Changed"), "id": existing["id"]},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"7"'},
        }
    )
    response = staff_api.post("/fhir/", bundle)
    assert response.status_code == 412
    assert Resource.objects.count() == 1
    assert (
        staff_api.get(f"/fhir/Patient/{existing['id']}").json()["name"][0]["family"] == "Existing"
    )


def test_transaction_mixed_methods(staff_api, create):
    a = create(patient_body(family="Alpha", ident="1"))
    b = create(patient_body(family="Beta", ident="2"))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "GET", "url": "Patient?family=alpha"}},
            {
                "resource": {**patient_body(family="Alpha2", ident="1"), "id": a["id"]},
                "request": {"method": "PUT", "url": f"Patient/{a['id']}"},
            },
            {"request": {"method": "DELETE", "url": f"Patient/{b['id']}"}},
            {
                "resource": patient_body(family="Gamma", ident="3"),
                "request": {"method": "PUT", "url": "Patient?identifier=3"},
            },
            {"request": {"method": "GET", "url": f"Patient/{a['id']}"}},
        ],
    }
    result = staff_api.post("/fhir/", bundle).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "200 OK", "204 No Content", "201 Created", "200 OK"]
    # GETs run last, so they see the transaction's own writes.
    assert result["entry"][0]["resource"]["total"] == 1
    assert result["entry"][4]["resource"]["name"][0]["family"] == "Alpha2"
    assert staff_api.get(f"/fhir/Patient/{b['id']}").status_code == 410
    assert staff_api.get("/fhir/Patient", {"identifier": "3"}).json()["total"] == 1


def test_batch_entries_are_independent(staff_api):
    bundle = small_transaction()
    bundle["type"] = "batch"
    bundle["entry"][2]["resource"].pop("code")
    result = staff_api.post("/fhir/", bundle).json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses[:2] == ["201 Created", "201 Created"]
    assert statuses[2] == "422"
    assert result["entry"][2]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert Resource.objects.count() == 2
    # The encounter created in the batch points at the patient created in the batch.
    encounter = Resource.objects.get(resource_type="Encounter")
    patient = Resource.objects.get(resource_type="Patient")
    assert encounter.patient_id == patient.resource_id


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "transaction", "entry": {"x": 1}},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": {"resourceType": "Patient"}}],
        },
        {"resourceType": "Bundle", "type": "transaction", "entry": ["x"]},
    ],
)
def test_bad_bundles(staff_api, body):
    response = staff_api.post("/fhir/", body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_conditional_create_in_transaction(staff_api):
    first = patient_bundle(seed=1, encounters=2)
    second = patient_bundle(seed=2, encounters=2)
    assert staff_api.post("/fhir/", first).status_code == 200
    result = staff_api.post("/fhir/", second).json()
    # seed 1 and 2 use different clinics; seed 4 reuses clinic 2 → 200 for the clinic entries.
    third = staff_api.post("/fhir/", patient_bundle(seed=4, encounters=2)).json()
    assert [e["response"]["status"] for e in third["entry"][:2]] == ["200 OK", "200 OK"]
    assert result["entry"][0]["response"]["status"] == "201 Created"
    assert Resource.objects.filter(resource_type="Organization").count() == 2
    # References from the third patient's records point at the clinic that already existed.
    org_id = third["entry"][0]["response"]["location"].split("/")[1]
    patient_id = third["entry"][2]["response"]["location"].split("/")[1]
    patient = staff_api.get(f"/fhir/Patient/{patient_id}").json()
    assert patient["managingOrganization"]["reference"] == f"Organization/{org_id}"


def test_whole_synthea_patient_in_one_request(staff_api):
    bundle = patient_bundle(seed=7, encounters=250)
    assert len(bundle["entry"]) > 3000
    with CaptureQueriesContext(connection) as queries:
        response = staff_api.post("/fhir/", bundle)
    assert response.status_code == 200, response.content[:500]
    assert Resource.objects.count() == len(bundle["entry"])
    # Bulk writes: queries come from INSERT batches, far fewer than one per entry.
    assert len(queries) < len(bundle["entry"]) / 10
    patient = Resource.objects.get(resource_type="Patient")
    assert (
        Resource.objects.filter(patient_id=patient.resource_id).count() == len(bundle["entry"]) - 2
    )
    unresolved = [
        r
        for r in Resource.objects.exclude(resource_type__in=["Organization", "Practitioner"])
        if "urn:uuid:" in r.body
    ]
    assert unresolved == []
    claim_types = set(Resource.objects.values_list("resource_type", flat=True))
    assert {"Claim", "ExplanationOfBenefit", "Immunization", "MedicationRequest"} <= claim_types


def test_conditional_create_header(staff_api):
    body = patient_body(ident="COND-1")
    first = staff_api.post(
        "/fhir/Patient", body, IF_NONE_EXIST="identifier=https://district.example/hkid|COND-1"
    )
    assert first.status_code == 201
    second = staff_api.post(
        "/fhir/Patient", body, IF_NONE_EXIST="identifier=https://district.example/hkid|COND-1"
    )
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert ConditionalCreateKey.objects.count() == 1
    staff_api.post("/fhir/Patient", patient_body(ident="COND-2"))
    staff_api.post("/fhir/Patient", patient_body(ident="COND-2"))
    several = staff_api.post("/fhir/Patient", body, IF_NONE_EXIST="identifier=COND-2")
    assert several.status_code == 412
    bad = staff_api.post("/fhir/Patient", body, IF_NONE_EXIST="nonsense=1")
    assert bad.status_code == 400


def test_conditional_key_released_on_delete(staff_api):
    criteria = "identifier=https://district.example/hkid|COND-9"
    first = staff_api.post(
        "/fhir/Patient", patient_body(ident="COND-9"), IF_NONE_EXIST=criteria
    ).json()
    staff_api.delete(f"/fhir/Patient/{first['id']}")
    again = staff_api.post("/fhir/Patient", patient_body(ident="COND-9"), IF_NONE_EXIST=criteria)
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
