"""A version belongs to the compartment it was written in.

When staff move a resource to another patient (a wrong-patient correction), the new patient's
resident must not read the versions written while it belonged to someone else.
"""

import pytest

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved_observation(create, staff_api):
    a = create(patient_body(family="Alpha", ident="A"))
    b = create(patient_body(family="Beta", ident="B"))
    obs = create(observation_body(b["id"], value=111))
    moved = {**obs, "subject": {"reference": f"Patient/{a['id']}"}}
    moved["valueQuantity"] = {**obs["valueQuantity"], "value": 72}
    response = staff_api.put(f"/fhir/Observation/{obs['id']}", moved)
    assert response.status_code == 200, response.content
    return {"a": a, "b": b, "obs": obs}


def test_new_owner_cannot_vread_the_other_patients_version(make_resident_api, moved_observation):
    resident_a = make_resident_api(moved_observation["a"]["id"])
    obs_id = moved_observation["obs"]["id"]
    assert resident_a.get(f"/fhir/Observation/{obs_id}").status_code == 200
    assert resident_a.get(f"/fhir/Observation/{obs_id}/_history/2").status_code == 200
    response = resident_a.get(f"/fhir/Observation/{obs_id}/_history/1")
    assert response.status_code == 404
    assert moved_observation["b"]["id"] not in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/fhir/Observation/{id}/_history", "/fhir/Observation/_history", "/fhir/_history"]
)
def test_new_owner_sees_only_versions_from_their_compartment(
    make_resident_api, moved_observation, url
):
    resident_a = make_resident_api(moved_observation["a"]["id"])
    response = resident_a.get(url.format(id=moved_observation["obs"]["id"]))
    assert response.status_code == 200, response.content
    text = response.content.decode()
    assert moved_observation["b"]["id"] not in text
    assert '"value": 111' not in text and '"value":111' not in text
    observation_versions = [
        entry["resource"]["meta"]["versionId"]
        for entry in response.json().get("entry", [])
        if entry.get("resource", {}).get("resourceType") == "Observation"
    ]
    assert "1" not in observation_versions


def test_staff_still_see_every_version(staff_api, moved_observation):
    response = staff_api.get(f"/fhir/Observation/{moved_observation['obs']['id']}/_history")
    assert response.status_code == 200
    assert response.json()["total"] == 2
