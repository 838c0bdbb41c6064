"""Bad input of every kind gets a 4xx OperationOutcome, never a 500."""

import json

import pytest

from .conftest import patient_body

pytestmark = pytest.mark.django_db


def _json(data):
    return json.dumps(data).encode()


BAD_BODIES = [
    b"",
    b"null",
    b"42",
    b'"text"',
    b"\xff\xfe",
    b'{"resourceType": 5}',
    b'{"resourceType": ["Patient"]}',
    b'{"resourceType": "Patient", "id": 7}',
    b'{"resourceType": "Patient", "id": "has spaces"}',
    b'{"resourceType": "Patient", "meta": "x"}',
    b'{"resourceType": "Patient", "name": "x"}',
    b'{"resourceType": "Patient", "name": [{"given": [1, 2]}]}',
    b'{"resourceType": "Patient", "birthDate": 19800101}',
    b'{"resourceType": "Patient", "contained": "x"}',
    b'{"resourceType": "Patient", "contained": [{"resourceType": 3}]}',
    b'{"resourceType": "Patient", "contained": [{}]}',
    b'{"resourceType": "Patient", "extension": [{"url": "x", "valueFoo": 1}]}',
    _json(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {"value": "NaN"},
        }
    ),
    _json(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient/../x"},
                }
            ],
        }
    ),
    _json(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "GET", "url": "Patient?birthdate=zzz"}}],
        }
    ),
    _json(
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": 5}}],
        }
    ),
    b'{"resourceType": "Bundle", "type": "transaction", "entry": [{"request": "x"}]}',
    _json(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:a",
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient"},
                },
                {
                    "fullUrl": "urn:uuid:a",
                    "resource": {"resourceType": "Patient"},
                    "request": {"method": "POST", "url": "Patient"},
                },
            ],
        }
    ),
    json.dumps({"resourceType": "Patient", "name": [{"family": "x" * 100_000}]}).encode(),
    json.dumps(
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Patient", "contained": [{"resourceType": "Nope"}]}],
        }
    ).encode(),
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("url", ["/fhir/Patient", "/fhir/", "/fhir/Patient/x"])
def test_bad_bodies(staff_api, url, body):
    send = staff_api.put if url.endswith("/x") else staff_api.post
    response = send(url, body)
    assert 200 <= response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


BAD_QUERIES = [
    "_count=99999999999999999999",
    "_offset=-5",
    "_sort=,,,",
    "_sort=-",
    "_include=*",
    "_include=Patient:general-practitioner:Nope",
    "_revinclude=Observation:patient:Patient",
    "birthdate=ge",
    "birthdate=2020-13-45",
    "birthdate=eq2020-02-30T25:61",
    "_lastUpdated=lt",
    "identifier=a|b|c",
    "general-practitioner=Practitioner/",
    "general-practitioner=http://x/y/z/Practitioner/1",
    "name=%00",
    "_id=" + "x" * 5000,
    "_summary=text",
    "_format=xml",
    "_total=maybe",
    "organization:Nope=1",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_queries(staff_api, create, query):
    create(patient_body())
    response = staff_api.get(f"/fhir/Patient?{query}")
    assert response.status_code < 500, (query, response.content[:300])
    assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/Patient/x/$everything?_type=",
        "/fhir/Patient/x/$everything?_since=nope",
        "/fhir/Patient/x/_history?_count=x",
        "/fhir/Patient/_history?_since=2020-99",
        "/fhir/_history?_offset=x",
        "/fhir/Observation?value-quantity=abc",
        "/fhir/Observation?value-quantity=1e999999",
        "/fhir/Observation?date=sa",
    ],
)
def test_bad_operation_queries(staff_api, url):
    staff_api.put("/fhir/Patient/x", {**patient_body(), "id": "x"})
    response = staff_api.get(url)
    assert response.status_code < 500, (url, response.content[:300])


def test_nul_and_huge_numbers_in_bodies(staff_api):
    body = {
        **patient_body(family="a\u0000b"),
        "identifier": [{"system": "s\u0000", "value": "v\u0000"}],
    }
    created = staff_api.post("/fhir/Patient", body)
    assert created.status_code == 201
    assert created.json()["name"][0]["family"] == "a\u0000b"
    assert staff_api.get("/fhir/Patient", {"family": "ab"}).json()["total"] == 1
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1e25},
    }
    assert staff_api.post("/fhir/Observation", observation).status_code == 201
    tiny = {**observation, "valueQuantity": {"value": 0.000000000001234}}
    assert staff_api.post("/fhir/Observation", tiny).status_code == 201
