"""Interactions real clients use (issue 11): PATCH, conditional delete, chained search,
_has, compartment search, and a CapabilityStatement that says so."""

import json

import pytest

from health.fhir.models import AuditEvent, Resource

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db

PATCH = "application/json-patch+json"


def ids(response):
    assert response.status_code == 200, response.content[:500]
    return sorted(e["resource"]["id"] for e in response.json().get("entry", []))


@pytest.fixture
def two(create):
    ann = create(patient_body(family="Chan", given="Ann", ident="ANN"))
    bob = create(patient_body(family="Lee", given="Bob", ident="BOB"))
    ann_obs = create(observation_body(ann["id"], code="8867-4", value=70))
    bob_obs = create(observation_body(bob["id"], code="29463-7", value=80))
    return ann, bob, ann_obs, bob_obs


# -- PATCH -------------------------------------------------------------------------------------


def test_json_patch_writes_a_new_version(staff_api, two, staff_user):
    ann, _bob, obs, _ = two
    # Written as text: the decimal's precision (71.50) must survive the patch.
    patch = (
        '[{"op": "test", "path": "/status", "value": "final"},'
        ' {"op": "replace", "path": "/status", "value": "amended"},'
        ' {"op": "replace", "path": "/valueQuantity/value", "value": 71.50}]'
    )
    response = staff_api.client.patch(
        f"/fhir/Observation/{obs['id']}",
        patch,
        content_type=PATCH,
        HTTP_IF_MATCH='W/"1"',
        HTTP_ACCEPT="application/fhir+json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "amended" and body["meta"]["versionId"] == "2"
    assert '"value":71.50' in response.content.decode()
    assert AuditEvent.objects.filter(action="update", resource_id=obs["id"]).exists()


def test_patch_with_a_stale_version_is_a_412_and_changes_nothing(staff_api, two):
    _ann, _bob, obs, _ = two
    patch = [{"op": "replace", "path": "/status", "value": "amended"}]
    for if_match in ('W/"7"', 'W/"0"'):
        response = staff_api.client.patch(
            f"/fhir/Observation/{obs['id']}",
            json.dumps(patch),
            content_type=PATCH,
            HTTP_IF_MATCH=if_match,
        )
        assert response.status_code == 412, response.content
    assert Resource.objects.get(resource_id=obs["id"]).version_id == 1


@pytest.mark.parametrize(
    "patch,status",
    [
        ([{"op": "test", "path": "/status", "value": "preliminary"}], 422),
        ([{"op": "remove", "path": "/nothing-here"}], 422),
        ([{"op": "replace", "path": "/status", "value": "bogus"}], 422),
        ([{"op": "remove", "path": "/code"}], 422),
        ([{"op": "replace", "path": "/resourceType", "value": "Patient"}], 422),
        ([{"op": "replace", "path": "/id", "value": "other"}], 400),
        ({"op": "replace"}, 400),
        ([{"op": "jump", "path": "/status"}], 400),
    ],
)
def test_a_patch_that_does_not_apply_changes_nothing(staff_api, two, patch, status):
    _ann, _bob, obs, _ = two
    response = staff_api.client.patch(
        f"/fhir/Observation/{obs['id']}", json.dumps(patch), content_type=PATCH
    )
    assert response.status_code == status, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert Resource.objects.get(resource_id=obs["id"]).version_id == 1


def test_patch_needs_a_json_patch_body(staff_api, two):
    _ann, _bob, obs, _ = two
    response = staff_api.client.patch(
        f"/fhir/Observation/{obs['id']}", json.dumps({}), content_type="application/fhir+json"
    )
    assert response.status_code == 415


def test_a_patient_client_cannot_patch_another_patients_resource(make_token_api, two):
    ann, _bob, _ann_obs, bob_obs = two
    api = make_token_api("patient/*.cruds", patient_id=ann["id"])
    response = api.client.patch(
        f"/fhir/Observation/{bob_obs['id']}",
        json.dumps([{"op": "replace", "path": "/status", "value": "amended"}]),
        content_type=PATCH,
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 404


# -- conditional delete -----------------------------------------------------------------------


def test_conditional_delete(staff_api, two):
    ann, _bob, obs, _ = two
    response = staff_api.delete(f"/fhir/Observation?patient={ann['id']}&code=8867-4")
    assert response.status_code == 204
    assert Resource.objects.get(resource_id=obs["id"]).deleted
    # No match: nothing to delete.
    assert staff_api.delete("/fhir/Observation?code=none").status_code == 204
    # Several: a too-broad query deletes nothing.
    assert staff_api.delete("/fhir/Patient?identifier=ANN,BOB").status_code == 412
    assert Resource.objects.filter(resource_type="Patient", deleted=False).count() == 2
    assert staff_api.delete("/fhir/Observation").status_code == 400


def test_conditional_delete_in_a_batch(staff_api, two):
    _ann, bob, _obs, bob_obs = two
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "DELETE", "url": f"Observation?patient={bob['id']}"}},
        ],
    }
    response = staff_api.post("/fhir/", batch)
    assert response.json()["entry"][0]["response"]["status"].startswith("204")
    assert Resource.objects.get(resource_id=bob_obs["id"]).deleted


# -- chained search and _has ---------------------------------------------------------------------


def test_chained_search_one_level(staff_api, two):
    _ann, _bob, ann_obs, bob_obs = two
    assert ids(staff_api.get("/fhir/Observation", {"subject:Patient.name": "Ann"})) == [
        ann_obs["id"]
    ]
    assert ids(staff_api.get("/fhir/Observation", {"patient.family": "Lee"})) == [bob_obs["id"]]
    assert ids(staff_api.get("/fhir/Observation", {"patient.identifier": "NOBODY"})) == []
    for bad in ("subject.name", "patient.name.family", "patient.nonsense", "code.name"):
        response = staff_api.get("/fhir/Observation", {bad: "x"})
        assert response.status_code == 400, (bad, response.content)


def test_reverse_chaining_with_has(staff_api, two):
    ann, bob, _ann_obs, _bob_obs = two
    found = ids(staff_api.get("/fhir/Patient", {"_has:Observation:patient:code": "29463-7"}))
    assert found == [bob["id"]]
    found = ids(staff_api.get("/fhir/Patient", {"_has:Observation:subject:value-quantity": "70"}))
    assert found == [ann["id"]]
    for bad in ("_has:Observation:patient", "_has:Nope:patient:code", "_has:Observation:code:code"):
        assert staff_api.get("/fhir/Patient", {bad: "x"}).status_code == 400, bad


def test_a_resident_chains_only_through_what_they_may_see(make_resident_api, two):
    ann, bob, ann_obs, _bob_obs = two
    api = make_resident_api(ann["id"])
    assert ids(api.get("/fhir/Observation", {"patient.family": "Chan"})) == [ann_obs["id"]]
    assert ids(api.get("/fhir/Observation", {"patient.family": "Lee"})) == []
    assert ids(api.get("/fhir/Patient", {"_has:Observation:patient:code": "29463-7"})) == []


# -- compartment search ---------------------------------------------------------------------------


def test_compartment_search(staff_api, two, make_resident_api):
    ann, bob, ann_obs, bob_obs = two
    assert ids(staff_api.get(f"/fhir/Patient/{ann['id']}/Observation")) == [ann_obs["id"]]
    assert ids(staff_api.get(f"/fhir/Patient/{bob['id']}/Observation", {"code": "29463-7"})) == [
        bob_obs["id"]
    ]
    assert ids(staff_api.get(f"/fhir/Patient/{bob['id']}/Observation", {"code": "8867-4"})) == []
    resident = make_resident_api(ann["id"])
    assert ids(resident.get(f"/fhir/Patient/{ann['id']}/Observation")) == [ann_obs["id"]]
    # Another patient's compartment and one that does not exist look the same.
    assert resident.get(f"/fhir/Patient/{bob['id']}/Observation").status_code == 404
    assert resident.get("/fhir/Patient/nobody/Observation").status_code == 404


# -- the CapabilityStatement says what works -----------------------------------------------------


def test_capability_statement_lists_the_new_interactions(anon_api):
    statement = anon_api.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    observation = next(r for r in rest["resource"] if r["type"] == "Observation")
    assert {"patch", "delete", "update"} <= {i["code"] for i in observation["interaction"]}
    assert observation["conditionalDelete"] == "single"
    assert {"_has", "_elements", "_summary"} <= {p["name"] for p in observation["searchParam"]}
    assert rest["compartment"] == ["http://hl7.org/fhir/CompartmentDefinition/patient"]
    appointment = next(r for r in rest["resource"] if r["type"] == "Appointment")
    assert {i["code"] for i in appointment["interaction"]} == {"read", "search-type"}
