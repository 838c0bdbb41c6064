"""Who may see and do what: clinic staff, tokens with SMART scopes, residents."""

from django.test import Client

import pytest

from health.fhir.access import issue_token, parse_scopes
from health.fhir.models import ApiToken, AuditEvent, Resource
from tests.factories import UserFactory

from .conftest import FhirClient, observation_body, patient_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_patients(create):
    a = create(patient_body(family="Alpha", ident="A"))
    b = create(patient_body(family="Beta", ident="B"))
    enc_b = create(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{b['id']}"},
        }
    )
    obs_a = create(observation_body(a["id"]))
    obs_b = create(observation_body(b["id"], encounter_id=enc_b["id"]))
    org = create({"resourceType": "Organization", "name": "Clinic"})
    return {"a": a, "b": b, "obs_a": obs_a, "obs_b": obs_b, "enc_b": enc_b, "org": org}


def test_anonymous_gets_401(anon_api, two_patients):
    response = anon_api.get(f"/fhir/Patient/{two_patients['a']['id']}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert anon_api.get("/fhir/Observation").status_code == 401
    assert anon_api.post("/fhir/Patient", patient_body()).status_code == 401


def test_bad_tokens_are_401(two_patients):
    for header in ("Bearer nonsense", "Bearer fhir_abc_def", "Basic dXNlcjpwYXNz", "Bearer "):
        response = Client().get("/fhir/Patient", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_revoked_and_expired_tokens(two_patients):
    from django.utils import timezone

    token, text = issue_token("lab", "user/*.rs")
    api = FhirClient(Client(), token=text)
    assert api.get("/fhir/Patient").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api.get("/fhir/Patient").status_code == 401
    token2, text2 = issue_token("lab2", "user/*.rs", expires_at=timezone.now())
    assert FhirClient(Client(), token=text2).get("/fhir/Patient").status_code == 401


def test_token_secret_is_hashed():
    token, text = issue_token("lab", "user/*.rs")
    assert text.split("_", 2)[2] not in token.secret_hash
    assert len(token.secret_hash) == 64


def test_scope_parsing():
    scopes = parse_scopes("user/*.rs patient/Observation.cruds system/Patient.read user/*.*")
    assert [(s.context, s.resource_type, s.permissions) for s in scopes] == [
        ("user", "*", "rs"),
        ("patient", "Observation", "cruds"),
        ("system", "Patient", "rs"),
        ("user", "*", "cruds"),
    ]
    for bad in ("user/*.xyz", "admin/*.rs", "user/observation.rs", "user/*.sr", "openid"):
        with pytest.raises(ValueError):
            parse_scopes(bad)


def test_read_only_token(make_token_api, two_patients):
    api = make_token_api("user/*.rs")
    assert api.get(f"/fhir/Patient/{two_patients['b']['id']}").status_code == 200
    assert api.get("/fhir/Observation").json()["total"] == 2
    assert api.post("/fhir/Patient", patient_body()).status_code == 403
    assert api.delete(f"/fhir/Patient/{two_patients['a']['id']}").status_code == 403
    assert Resource.objects.filter(resource_type="Patient", deleted=False).count() == 2
    # Reads by a system are audited with the token's name.
    event = AuditEvent.objects.filter(role="system", action="read").get()
    assert event.actor == "test system"
    assert event.patient_id == two_patients["b"]["id"]


def test_type_limited_token(make_token_api, two_patients):
    api = make_token_api("user/Observation.cruds")
    assert api.get("/fhir/Observation").status_code == 200
    assert (
        api.post("/fhir/Observation", observation_body(two_patients["a"]["id"])).status_code == 201
    )
    assert api.get(f"/fhir/Patient/{two_patients['a']['id']}").status_code == 403
    assert api.post("/fhir/Patient", patient_body()).status_code == 403
    # _include of a type the token cannot read is left out, not leaked.
    bundle = api.get("/fhir/Observation", {"_include": "Observation:subject"}).json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Observation"}


def test_patient_scoped_token(make_token_api, two_patients):
    a, b = two_patients["a"], two_patients["b"]
    api = make_token_api("patient/*.rs", patient_id=a["id"])
    assert api.get(f"/fhir/Patient/{a['id']}").status_code == 200
    assert api.get(f"/fhir/Patient/{b['id']}").status_code == 404
    assert api.get(f"/fhir/Observation/{two_patients['obs_b']['id']}").status_code == 404
    bundle = api.get("/fhir/Observation").json()
    assert bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["id"] == two_patients["obs_a"]["id"]
    with pytest.raises(ValueError):
        issue_token("x", "patient/*.rs")


def test_patient_scoped_writer_cannot_write_elsewhere(make_token_api, two_patients):
    a, b = two_patients["a"], two_patients["b"]
    api = make_token_api("patient/Observation.cruds", patient_id=a["id"])
    assert api.post("/fhir/Observation", observation_body(a["id"])).status_code == 201
    assert api.post("/fhir/Observation", observation_body(b["id"])).status_code == 403
    obs_b = two_patients["obs_b"]
    moved = {**observation_body(a["id"]), "id": obs_b["id"]}
    assert api.put(f"/fhir/Observation/{obs_b['id']}", moved).status_code == 403
    assert Resource.objects.get(resource_id=obs_b["id"]).patient_id == b["id"]


def test_resident_reads_only_own_compartment(make_resident_api, two_patients):
    a, b = two_patients["a"], two_patients["b"]
    api = make_resident_api(a["id"])
    assert api.get(f"/fhir/Patient/{a['id']}").status_code == 200
    assert api.get(f"/fhir/Observation/{two_patients['obs_a']['id']}").status_code == 200

    not_mine = [
        f"/fhir/Patient/{b['id']}",
        f"/fhir/Patient/{b['id']}/_history",
        f"/fhir/Patient/{b['id']}/_history/1",
        f"/fhir/Patient/{b['id']}/$everything",
        f"/fhir/Patient/{b['id']}/$summary",
        f"/fhir/Observation/{two_patients['obs_b']['id']}",
        f"/fhir/Observation/{two_patients['obs_b']['id']}/_history/1",
        f"/fhir/Encounter/{two_patients['enc_b']['id']}",
        f"/fhir/Organization/{two_patients['org']['id']}",
        "/fhir/Patient/does-not-exist",
    ]
    for url in not_mine:
        response = api.get(url)
        # The same answer as for an id that does not exist: existence is not revealed.
        assert response.status_code == 404, url
        assert response.json()["issue"][0]["code"] == "not-found"

    searches = {
        "/fhir/Observation": 1,
        f"/fhir/Observation?patient={b['id']}": 0,
        f"/fhir/Observation?subject=Patient/{b['id']}": 0,
        f"/fhir/Patient?_id={b['id']}": 0,
        "/fhir/Patient?family=beta": 0,
        "/fhir/Patient": 1,
        f"/fhir/Encounter?_id={two_patients['enc_b']['id']}": 0,
        "/fhir/Observation/_history": 1,
        "/fhir/_history": 2,
        f"/fhir/Patient?_id={a['id']}&_revinclude=Observation:patient": 1,
    }
    for url, total in searches.items():
        response = api.get(url)
        assert response.status_code == 200, url
        bundle = response.json()
        assert bundle["total"] == total, url
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            assert b["id"] not in str(resource), url

    # Includes never pull in another patient's data.
    bundle = api.get(
        "/fhir/Observation?_include=Observation:encounter&_include=Observation:subject"
    ).json()
    assert {e["resource"]["id"] for e in bundle["entry"]} == {a["id"], two_patients["obs_a"]["id"]}


def test_resident_cannot_write(make_resident_api, two_patients):
    a = two_patients["a"]
    api = make_resident_api(a["id"])
    assert api.post("/fhir/Observation", observation_body(a["id"])).status_code == 403
    assert api.put(f"/fhir/Patient/{a['id']}", {**patient_body(), "id": a["id"]}).status_code == 403
    assert api.delete(f"/fhir/Patient/{a['id']}").status_code in (403, 404)
    assert (
        api.post(
            "/fhir/",
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"resource": patient_body(), "request": {"method": "POST", "url": "Patient"}}
                ],
            },
        ).status_code
        == 403
    )
    assert Resource.objects.filter(resource_type="Patient").count() == 2


def test_resident_batch_get_cannot_reach_other(make_resident_api, two_patients):
    a, b = two_patients["a"], two_patients["b"]
    api = make_resident_api(a["id"])
    result = api.post(
        "/fhir/",
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"request": {"method": "GET", "url": f"Patient/{b['id']}"}},
                {"request": {"method": "GET", "url": f"Patient/{a['id']}"}},
            ],
        },
    ).json()
    assert [e["response"]["status"] for e in result["entry"]] == ["404", "200 OK"]


def test_unlinked_resident_sees_nothing(client, two_patients):
    user = UserFactory()
    client.force_login(user)
    api = FhirClient(client)
    assert api.get("/fhir/Observation").json()["total"] == 0
    assert api.get(f"/fhir/Patient/{two_patients['a']['id']}").status_code == 404


def test_session_writes_need_csrf(staff_user, two_patients):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    api = FhirClient(client)
    assert api.get(f"/fhir/Patient/{two_patients['a']['id']}").status_code == 200
    response = api.post("/fhir/Patient", patient_body())
    assert response.status_code == 403
    # A token client needs no CSRF token.
    _token, text = issue_token("sys", "user/*.cruds")
    token_client = Client(enforce_csrf_checks=True)
    assert (
        FhirClient(token_client, token=text).post("/fhir/Patient", patient_body()).status_code
        == 201
    )


def test_every_access_is_audited(staff_api, staff_user, two_patients):
    a = two_patients["a"]
    AuditEvent.objects.all().delete()
    staff_api.get(f"/fhir/Patient/{a['id']}")
    staff_api.get("/fhir/Observation", {"patient": a["id"]})
    staff_api.get(f"/fhir/Patient/{a['id']}/$everything")
    staff_api.get(f"/fhir/Patient/{a['id']}/_history")
    events = AuditEvent.objects.filter(patient_id=a["id"])
    assert {e.action for e in events} == {"read", "search", "history"}
    assert all(e.user == staff_user and e.role == "clinic-staff" for e in events)


def test_session_post_search_with_csrf(staff_user, two_patients):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    client.get("/health/")  # any page sets the CSRF cookie for a signed-in browser
    from django.middleware.csrf import _get_new_csrf_string

    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else None
    if token is None:
        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
    from urllib.parse import urlencode

    # The CSRF check parses the form (reading the body stream) before the view runs.
    response = client.post(
        "/fhir/Patient/_search",
        urlencode({"family": "alpha", "csrfmiddlewaretoken": token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/fhir+json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["total"] == 1
