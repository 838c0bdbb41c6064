from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest
from fhir.resources.R4B import get_fhir_model_class

from bench.fhir_synthea import patient_bundle
from health.fhir.models import Resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def synthea_patient(staff_api):
    def load(seed, encounters=12):
        result = staff_api.post("/fhir/", patient_bundle(seed=seed, encounters=encounters)).json()
        return result["entry"][2]["response"]["location"].split("/")[1]

    return load


def test_everything(staff_api, synthea_patient):
    pid = synthea_patient(1)
    other = synthea_patient(2)
    bundle = staff_api.get(f"/fhir/Patient/{pid}/$everything", {"_count": 1000}).json()
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient"
    compartment = Resource.objects.filter(patient_id=pid).count()
    # The compartment plus the clinic's Organization and Practitioner it refers to.
    assert bundle["total"] == compartment + 2
    assert {"Organization", "Practitioner", "Claim", "Observation"} <= set(types)
    assert other not in str(bundle)

    only = staff_api.get(
        f"/fhir/Patient/{pid}/$everything", {"_type": "Immunization,Patient"}
    ).json()
    assert {e["resource"]["resourceType"] for e in only["entry"]} == {"Immunization", "Patient"}

    page = staff_api.get(f"/fhir/Patient/{pid}/$everything", {"_count": 10}).json()
    assert len(page["entry"]) == 10
    next_url = {link["relation"]: link["url"] for link in page["link"]}["next"]
    page2 = staff_api.get(next_url.split("testserver")[1]).json()
    first_ids = {e["resource"]["id"] for e in page["entry"]}
    assert not first_ids & {e["resource"]["id"] for e in page2["entry"]}

    future = staff_api.get(f"/fhir/Patient/{pid}/$everything", {"_since": "2999-01-01"}).json()
    assert future["total"] == 0
    assert staff_api.get(f"/fhir/Patient/{pid}/$everything", {"_type": "Nope"}).status_code == 400
    assert staff_api.get("/fhir/Patient/nobody/$everything").status_code == 404


def test_everything_query_count_is_flat(staff_api, synthea_patient):
    small = synthea_patient(3, encounters=2)
    big = synthea_patient(4, encounters=30)
    counts = []
    for pid in (small, big):
        with CaptureQueriesContext(connection) as queries:
            staff_api.get(f"/fhir/Patient/{pid}/$everything", {"_count": 1000})
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_summary_is_an_ips_document(staff_api, synthea_patient):
    pid = synthea_patient(5, encounters=15)
    response = staff_api.get(f"/fhir/Patient/{pid}/$summary")
    assert response.status_code == 200
    document = response.json()
    get_fhir_model_class("Bundle").model_validate(document)
    assert document["type"] == "document"
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert set(sections) == {"48765-2", "10160-0", "11450-4", "11369-6", "30954-2", "8716-3"}
    full_urls = {e["fullUrl"] for e in document["entry"]}
    for section in composition["section"]:
        for ref in section.get("entry", []):
            assert ref["reference"] in full_urls
    assert len(sections["48765-2"]["entry"]) == 1  # the peanut allergy
    assert len(sections["11450-4"]["entry"]) == 2  # two active conditions
    assert sections["10160-0"].get("entry"), "the active medication request"
    # Latest result per lab code only.
    assert len(sections["30954-2"]["entry"]) == 4
    assert (
        "Peanut" in sections["48765-2"]["text"]["div"]
        or "peanut" in sections["48765-2"]["text"]["div"]
    )


def test_summary_with_empty_record(staff_api, create):
    from .conftest import patient_body

    pid = create(patient_body())["id"]
    document = staff_api.get(f"/fhir/Patient/{pid}/$summary").json()
    get_fhir_model_class("Bundle").model_validate(document)
    composition = document["entry"][0]["resource"]
    assert all("emptyReason" in s for s in composition["section"])
