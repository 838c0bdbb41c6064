import json

import pytest

from health.fhir.models import (
    AuditEvent,
    DateIndex,
    Resource,
    ResourceVersion,
    StringIndex,
    TokenIndex,
)

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


def test_create_read_and_index(staff_api):
    response = staff_api.post("/fhir/Patient", patient_body())
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/fhir+json")
    created = response.json()
    pid = created["id"]
    assert response["Location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert response["ETag"] == 'W/"1"'
    assert created["meta"]["versionId"] == "1"

    read = staff_api.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 200
    assert read.json()["name"][0]["family"] == "Chan"
    assert read["ETag"] == 'W/"1"'

    row = Resource.objects.get(resource_type="Patient", resource_id=pid)
    assert row.patient_id == pid
    assert ResourceVersion.objects.filter(current=row).count() == 1
    assert TokenIndex.objects.filter(resource=row, param="gender", code="male").exists()
    assert StringIndex.objects.filter(resource=row, param="family", value="chan").exists()
    assert DateIndex.objects.filter(resource=row, param="birthdate").exists()
    actions = set(AuditEvent.objects.filter(patient_id=pid).values_list("action", flat=True))
    assert actions == {"create", "read"}


def test_client_id_on_create_is_replaced(staff_api):
    body = {**patient_body(), "id": "chosen-by-client"}
    created = staff_api.post("/fhir/Patient", body).json()
    assert created["id"] != "chosen-by-client"


def test_accepts_plain_json(staff_api):
    response = staff_api.post("/fhir/Patient", patient_body(), content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        ("{not json", 400, None),
        ("[]", 400, None),
        (json.dumps({"resourceType": "Banana"}), 404, None),
        (json.dumps({"resourceType": "Observation", "status": "final"}), 422, "Observation.code"),
        (
            json.dumps({"resourceType": "Patient", "birthDate": "17/05/1980"}),
            422,
            "Patient.birthDate",
        ),
        (
            json.dumps({"resourceType": "Patient", "name": [{"given": "x"}]}),
            422,
            "Patient.name[0].given",
        ),
        (json.dumps({"resourceType": "Patient", "colour": "blue"}), 422, "Patient.colour"),
        (
            json.dumps({"resourceType": "Patient", "contained": [{"resourceType": "Foo"}]}),
            400,
            "Patient.contained[0].resourceType",
        ),
        (
            # An R5-only resource type inside contained: wrong version, not a 500.
            json.dumps(
                {"resourceType": "Patient", "contained": [{"resourceType": "ActorDefinition"}]}
            ),
            400,
            "Patient.contained[0].resourceType",
        ),
        (
            json.dumps({"resourceType": "Observation", "status": "final", "code": {}}),
            422,
            "Observation.code",
        ),
        (json.dumps({"resourceType": "Patient", "gender": None}), 422, "Patient.gender"),
    ],
)
def test_invalid_input_is_an_operation_outcome_and_stores_nothing(
    staff_api, body, status, expression
):
    try:
        url = "/fhir/" + json.loads(body)["resourceType"]
    except (ValueError, TypeError, KeyError):
        url = "/fhir/Patient"
    response = staff_api.post(url, body)
    assert response.status_code == status, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    if expression:
        assert expression in outcome["issue"][0]["expression"]
    assert Resource.objects.count() == 0


def test_wrong_type_for_url(staff_api):
    response = staff_api.post("/fhir/Observation", patient_body())
    assert response.status_code == 400
    assert Resource.objects.count() == 0


def test_unsupported_content_type_and_accept(staff_api):
    assert (
        staff_api.post(
            "/fhir/Patient", "<Patient/>", content_type="application/fhir+xml"
        ).status_code
        == 415
    )
    assert staff_api.get("/fhir/Patient", ACCEPT="application/fhir+xml").status_code == 406


def test_update_versions_and_history(staff_api):
    created = staff_api.post("/fhir/Patient", patient_body()).json()
    pid = created["id"]
    changed = {**patient_body(family="Wong"), "id": pid}
    response = staff_api.put(f"/fhir/Patient/{pid}", changed, IF_MATCH='W/"1"')
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response["ETag"] == 'W/"2"'

    assert staff_api.get(f"/fhir/Patient/{pid}/_history/1").json()["name"][0]["family"] == "Chan"
    assert staff_api.get(f"/fhir/Patient/{pid}/_history/2").json()["name"][0]["family"] == "Wong"
    assert staff_api.get(f"/fhir/Patient/{pid}/_history/3").status_code == 404

    history = staff_api.get(f"/fhir/Patient/{pid}/_history").json()
    assert history["type"] == "history"
    assert history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    # The old family name is gone from the index, the new one is there.
    assert staff_api.get("/fhir/Patient", {"family": "chan"}).json()["total"] == 0
    assert staff_api.get("/fhir/Patient", {"family": "wong"}).json()["total"] == 1


def test_stale_if_match_is_412_and_changes_nothing(staff_api):
    pid = staff_api.post("/fhir/Patient", patient_body()).json()["id"]
    staff_api.put(f"/fhir/Patient/{pid}", {**patient_body(family="Wong"), "id": pid})
    stale = staff_api.put(
        f"/fhir/Patient/{pid}", {**patient_body(family="Lee"), "id": pid}, IF_MATCH='W/"1"'
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    current = staff_api.get(f"/fhir/Patient/{pid}").json()
    assert current["meta"]["versionId"] == "2"
    assert current["name"][0]["family"] == "Wong"
    assert ResourceVersion.objects.filter(resource_id=pid).count() == 2


def test_update_id_must_match_url(staff_api):
    pid = staff_api.post("/fhir/Patient", patient_body()).json()["id"]
    assert (
        staff_api.put(f"/fhir/Patient/{pid}", {**patient_body(), "id": "other"}).status_code == 400
    )
    assert staff_api.put(f"/fhir/Patient/{pid}", patient_body()).status_code == 400


def test_create_on_update(staff_api):
    response = staff_api.put("/fhir/Patient/clinic-42", {**patient_body(), "id": "clinic-42"})
    assert response.status_code == 201
    assert response["Location"].endswith("/fhir/Patient/clinic-42/_history/1")
    assert staff_api.get("/fhir/Patient/clinic-42").status_code == 200


def test_delete_then_gone(staff_api):
    pid = staff_api.post("/fhir/Patient", patient_body()).json()["id"]
    assert staff_api.delete(f"/fhir/Patient/{pid}").status_code == 204
    gone = staff_api.get(f"/fhir/Patient/{pid}")
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"
    assert staff_api.get("/fhir/Patient", {"_id": pid}).json()["total"] == 0
    history = staff_api.get(f"/fhir/Patient/{pid}/_history").json()
    assert history["total"] == 2
    assert history["entry"][0]["request"]["method"] == "DELETE"
    assert "resource" not in history["entry"][0]
    assert staff_api.get(f"/fhir/Patient/{pid}/_history/1").status_code == 200
    assert staff_api.get(f"/fhir/Patient/{pid}/_history/2").status_code == 410
    # A new version brings it back.
    again = staff_api.put(f"/fhir/Patient/{pid}", {**patient_body(), "id": pid})
    assert again.status_code == 201
    assert again.json()["meta"]["versionId"] == "3"


def test_delete_unknown_is_404(staff_api):
    assert staff_api.delete("/fhir/Patient/nope").status_code == 404


def test_unknown_urls_answer_operation_outcome(staff_api):
    for url in (
        "/fhir/Banana/1",
        "/fhir/Patient/bad$id",
        "/fhir/Patient/1/_history/x",
        "/fhir/foo/bar/baz/qux",
    ):
        response = staff_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["resourceType"] == "OperationOutcome"


def test_other_valid_types_are_stored_and_read(staff_api):
    body = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"code": "professional"}]},
        "use": "claim",
        "patient": {"reference": "Patient/p1"},
        "created": "2024-01-01",
        "provider": {"display": "Clinic"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Scheme"}}],
    }
    created = staff_api.post("/fhir/Claim", body)
    assert created.status_code == 201
    basic = staff_api.post("/fhir/Basic", {"resourceType": "Basic", "code": {"text": "note"}})
    assert basic.status_code == 201
    assert staff_api.get(f"/fhir/Basic/{basic.json()['id']}").status_code == 200
    assert Resource.objects.get(resource_type="Claim").patient_id == "p1"


def test_metadata_lists_what_works(anon_api):
    response = anon_api.get("/fhir/metadata")
    assert response.status_code == 200
    cs = response.json()
    assert cs["resourceType"] == "CapabilityStatement"
    rest = cs["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    observation = by_type["Observation"]
    params = {p["name"]: p["type"] for p in observation["searchParam"]}
    assert params["code"] == "token"
    assert params["date"] == "date"
    assert params["patient"] == "reference"
    assert "Observation:encounter" in observation["searchInclude"]
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch", "history-system"}
    assert {o["name"] for o in by_type["Patient"]["operation"]} == {"everything", "summary"}
    assert by_type["Observation"]["conditionalDelete"] == "not-supported"
    # Every advertised parameter is accepted by the search code.
    from health.fhir.capability import STORE_CONTROL_PARAMS
    from health.fhir.projections import is_projected
    from health.fhir.search import CONTROL_PARAMS, build_search

    assert {p["name"] for p in STORE_CONTROL_PARAMS} <= CONTROL_PARAMS
    for resource in rest["resource"]:
        if is_projected(resource["type"]):
            continue  # clinic booking's: test_booking_projection.py searches each of them
        for param in resource["searchParam"]:
            if param in STORE_CONTROL_PARAMS:
                continue
            value = {
                "token": "x",
                "string": "x",
                "date": "2020",
                "reference": "Patient/1",
                "quantity": "5",
            }[param["type"]]
            build_search(resource["type"], [(param["name"], value)])
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class("CapabilityStatement").model_validate(cs)


def test_observation_round_trip_keeps_content(staff_api):
    pid = staff_api.post("/fhir/Patient", patient_body()).json()["id"]
    body = observation_body(pid)
    created = staff_api.post("/fhir/Observation", body).json()
    read = staff_api.get(f"/fhir/Observation/{created['id']}").json()
    for key in ("code", "subject", "valueQuantity", "effectiveDateTime", "category"):
        assert read[key] == body[key]
    assert Resource.objects.get(resource_id=created["id"]).patient_id == pid


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient", "name": [{}]},
        {"resourceType": "Patient", "name": [None]},
        {"resourceType": "Patient", "name": []},
        {"resourceType": "Patient", "name": [{"family": ""}]},
    ],
)
def test_empty_elements_are_rejected(staff_api, body):
    response = staff_api.post("/fhir/Patient", body)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"][0].startswith("Patient.name")


def test_conditional_update(staff_api):
    url = "/fhir/Patient?identifier=https://district.example/hkid|CU-1"
    created = staff_api.put(url, patient_body(ident="CU-1"))
    assert created.status_code == 201
    pid = created.json()["id"]
    updated = staff_api.put(url, patient_body(family="Lau", ident="CU-1"))
    assert updated.status_code == 200
    assert updated.json()["id"] == pid
    assert updated.json()["meta"]["versionId"] == "2"
    staff_api.post("/fhir/Patient", patient_body(ident="CU-2"))
    staff_api.post("/fhir/Patient", patient_body(ident="CU-2"))
    several = staff_api.put("/fhir/Patient?identifier=CU-2", patient_body(ident="CU-2"))
    assert several.status_code == 412
    assert staff_api.put("/fhir/Patient", patient_body()).status_code == 400
    wrong_id = staff_api.put(url, {**patient_body(ident="CU-1"), "id": "other"})
    assert wrong_id.status_code == 400


def test_history_bodies_after_several_updates(staff_api):
    pid = staff_api.post("/fhir/Patient", patient_body(family="V1")).json()["id"]
    for family in ("V2", "V3"):
        staff_api.put(f"/fhir/Patient/{pid}", {**patient_body(family=family), "id": pid})
    staff_api.delete(f"/fhir/Patient/{pid}")
    staff_api.put(f"/fhir/Patient/{pid}", {**patient_body(family="V5"), "id": pid})
    families = {
        v: staff_api.get(f"/fhir/Patient/{pid}/_history/{v}")
        .json()
        .get("name", [{}])[0]
        .get("family")
        for v in (1, 2, 3, 5)
    }
    assert families == {1: "V1", 2: "V2", 3: "V3", 5: "V5"}
    assert staff_api.get(f"/fhir/Patient/{pid}/_history/4").status_code == 410
    history = staff_api.get(f"/fhir/Patient/{pid}/_history").json()
    shown = [e.get("resource", {}).get("name", [{}])[0].get("family") for e in history["entry"]]
    assert shown == ["V5", None, "V3", "V2", "V1"]
    # Only superseded versions carry a copy of the body.
    stored = dict(ResourceVersion.objects.filter(resource_id=pid).values_list("version_id", "body"))
    assert stored[5] is None and stored[4] is None
    assert all(stored[v] for v in (1, 2, 3))
