from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(create):
    chan = create(
        patient_body(family="Chan", given="Tai Man", birth="1980-05-17", gender="male", ident="A1")
    )
    wong = create(
        patient_body(family="Wóng", given="Mei", birth="1992-11-02", gender="female", ident="B2")
    )
    return chan, wong


def ids(bundle):
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def test_patient_params(staff_api, people):
    chan, wong = people
    get = lambda **q: staff_api.get("/fhir/Patient", q).json()  # noqa: E731
    assert ids(get(family="chan")) == [chan["id"]]
    assert ids(get(family="WONG")) == [wong["id"]]  # accents and case folded
    assert ids(get(name="mei")) == [wong["id"]]
    assert ids(get(given="tai")) == [chan["id"]]
    assert get(**{"family:exact": "Chan"})["total"] == 1
    assert get(**{"family:exact": "chan"})["total"] == 0
    assert ids(get(**{"name:contains": "ai m"})) == [chan["id"]]
    assert ids(get(gender="female")) == [wong["id"]]
    assert ids(get(identifier="https://district.example/hkid|A1")) == [chan["id"]]
    assert ids(get(identifier="A1")) == [chan["id"]]
    assert get(identifier="other-system|A1")["total"] == 0
    assert ids(get(birthdate="1980-05-17")) == [chan["id"]]
    assert ids(get(birthdate="1980")) == [chan["id"]]
    assert ids(get(birthdate="lt1985-01-01")) == [chan["id"]]
    assert ids(get(birthdate="ge1985")) == [wong["id"]]
    assert ids(get(birthdate="gt1992-11-02")) == []
    assert ids(get(birthdate="le1992-11-02", _sort="birthdate")) == [chan["id"], wong["id"]]
    assert ids(get(_id=wong["id"])) == [wong["id"]]
    assert get(gender="male,female")["total"] == 2
    assert ids(get(**{"gender:not": "male"})) == [wong["id"]]


def test_repeated_params_and(staff_api, people):
    chan, _ = people
    bundle = staff_api.get("/fhir/Patient?birthdate=ge1980-01-01&birthdate=le1980-12-31").json()
    assert ids(bundle) == [chan["id"]]


def test_observation_params_and_sort(staff_api, create, people):
    chan, wong = people
    enc = create(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{chan['id']}"},
        }
    )
    o1 = create(
        observation_body(chan["id"], "8867-4", 70, "2024-01-01T10:00:00Z", encounter_id=enc["id"])
    )
    o2 = create(observation_body(chan["id"], "8867-4", 90, "2024-03-01T10:00:00Z"))
    o3 = create(
        observation_body(chan["id"], "2339-0", 120, "2024-02-01T10:00:00Z", category="laboratory")
    )
    create(observation_body(wong["id"], "8867-4", 60, "2024-02-15T10:00:00Z"))

    def get(**q):
        response = staff_api.get("/fhir/Observation", q)
        assert response.status_code == 200, response.content
        return response.json()

    assert set(ids(get(patient=chan["id"]))) == {o1["id"], o2["id"], o3["id"]}
    assert set(ids(get(subject=f"Patient/{chan['id']}"))) == {o1["id"], o2["id"], o3["id"]}
    assert ids(get(patient=chan["id"], code="http://loinc.org|8867-4", _sort="-date")) == [
        o2["id"],
        o1["id"],
    ]
    assert ids(get(patient=chan["id"], _sort="date")) == [o1["id"], o3["id"], o2["id"]]
    assert ids(get(category="laboratory")) == [o3["id"]]
    assert ids(get(patient=chan["id"], date="gt2024-02-01")) == [o2["id"]]
    assert ids(get(patient=chan["id"], date="ge2024-02-01", _sort="date")) == [o3["id"], o2["id"]]
    assert ids(get(patient=chan["id"], date="lt2024-02-01")) == [o1["id"]]
    assert ids(get(patient=chan["id"], date="2024-01")) == [o1["id"]]
    # An instant to the second matches exactly that reading (checks the stored format).
    assert ids(get(patient=chan["id"], date="2024-03-01T10:00:00Z")) == [o2["id"]]
    assert ids(get(patient=chan["id"], date="2024-03-01T18:00:00+08:00")) == [o2["id"]]
    assert ids(get(encounter=f"Encounter/{enc['id']}")) == [o1["id"]]
    assert ids(get(patient=chan["id"], code="8867-4", **{"value-quantity": "gt80"})) == [o2["id"]]
    assert ids(get(patient=chan["id"], **{"value-quantity": "gt100"})) == [o3["id"]]
    assert ids(
        get(patient=chan["id"], **{"value-quantity": "70|http://unitsofmeasure.org|/min"})
    ) == [o1["id"]]
    assert ids(get(status="final", patient=wong["id"])) != []
    assert get(code="http://snomed.info/sct|8867-4")["total"] == 0
    assert ids(get(patient=chan["id"], _sort="-_lastUpdated")) == [o3["id"], o2["id"], o1["id"]]


def test_paging_links(staff_api, create, people):
    chan, _ = people
    made = [create(observation_body(chan["id"], when=f"2024-01-{d:02d}")) for d in range(1, 8)]
    first = staff_api.get(
        "/fhir/Observation", {"patient": chan["id"], "_count": 3, "_sort": "date"}
    ).json()
    assert first["total"] == 7
    assert ids(first) == [m["id"] for m in made[:3]]
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "previous" not in links
    second = staff_api.get(links["next"].split("testserver")[1]).json()
    assert ids(second) == [m["id"] for m in made[3:6]]
    links2 = {link["relation"]: link["url"] for link in second["link"]}
    assert "previous" in links2
    third = staff_api.get(links2["next"].split("testserver")[1]).json()
    assert ids(third) == [made[6]["id"]]
    assert "next" not in {link["relation"] for link in third["link"]}
    count = staff_api.get("/fhir/Observation", {"patient": chan["id"], "_summary": "count"}).json()
    assert count["total"] == 7 and "entry" not in count


def test_include_and_revinclude(staff_api, create, people):
    chan, wong = people
    enc = create(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{chan['id']}"},
        }
    )
    obs = create(observation_body(chan["id"], encounter_id=enc["id"]))
    bundle = staff_api.get(
        "/fhir/Observation",
        {"_id": obs["id"], "_include": ["Observation:subject", "Observation:encounter"]},
    ).json()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert modes == {("Observation", "match"), ("Patient", "include"), ("Encounter", "include")}
    assert bundle["total"] == 1

    rev = staff_api.get(
        "/fhir/Patient", {"_id": chan["id"], "_revinclude": "Observation:patient"}
    ).json()
    assert [e["resource"]["resourceType"] for e in rev["entry"]] == ["Patient", "Observation"]
    rev_wong = staff_api.get(
        "/fhir/Patient", {"_id": wong["id"], "_revinclude": "Observation:patient"}
    ).json()
    assert len(rev_wong["entry"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        "colour=blue",
        "_unknown=1",
        "birthdate=notadate",
        "_count=abc",
        "_count=-1",
        "_sort=family",
        "_include=Observation:subject",
        "_include=Patient:gender",
        "family:fuzzy=x",
        "gender=",
        "identifier=|",
    ],
)
def test_bad_search_is_400(staff_api, query):
    response = staff_api.get(f"/fhir/Patient?{query}")
    assert response.status_code == 400, (query, response.content)
    assert response.json()["resourceType"] == "OperationOutcome"


def test_search_query_count_does_not_grow_with_results(staff_api, create, people):
    chan, _ = people
    for d in range(1, 4):
        create(observation_body(chan["id"], when=f"2024-01-{d:02d}"))
    with CaptureQueriesContext(connection) as few:
        staff_api.get(
            "/fhir/Observation", {"patient": chan["id"], "_include": "Observation:subject"}
        )
    for d in range(4, 20):
        create(observation_body(chan["id"], when=f"2024-01-{d:02d}"))
    with CaptureQueriesContext(connection) as many:
        bundle = staff_api.get(
            "/fhir/Observation", {"patient": chan["id"], "_include": "Observation:subject"}
        ).json()
    assert bundle["total"] == 19
    assert len(many) == len(few)


def test_type_history_and_post_search(staff_api, people):
    history = staff_api.get("/fhir/Patient/_history").json()
    assert history["total"] == 2
    response = staff_api.client.post(
        "/fhir/Patient/_search",
        "family=chan",
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/fhir+json",
    )
    assert response.status_code == 200
    assert response.json()["total"] == 1


def test_common_params_on_a_synthea_patient(staff_api):
    from bench.fhir_synthea import patient_bundle

    result = staff_api.post("/fhir/", patient_bundle(seed=3, encounters=12)).json()
    pid = result["entry"][2]["response"]["location"].split("/")[1]

    def total(url):
        response = staff_api.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        return response.json()["total"]

    assert (
        total(f"/fhir/Immunization?patient={pid}&vaccine-code=http://hl7.org/fhir/sid/cvx|140") == 1
    )
    assert total(f"/fhir/Immunization?patient={pid}&vaccine-code=208") == 1
    assert total(f"/fhir/Condition?patient={pid}&clinical-status=active") == 2
    assert total(f"/fhir/Condition?subject=Patient/{pid}&category=encounter-diagnosis") == 2
    assert total(f"/fhir/MedicationRequest?patient={pid}&status=active") >= 1
    assert total(f"/fhir/Encounter?patient={pid}&date=ge2015-01-01") == 12
    assert total(f"/fhir/Encounter?patient={pid}&date=lt2015-01-01") == 0
    assert total(f"/fhir/AllergyIntolerance?patient={pid}&clinical-status=active") == 1
    assert total(f"/fhir/DiagnosticReport?patient={pid}&category=LAB") == 12
    assert total(f"/fhir/Procedure?patient={pid}&date=ge2015") == 12
    assert total(f"/fhir/Claim?patient={pid}") == 12
    assert total(f"/fhir/ExplanationOfBenefit?patient={pid}&status=active") == 12
    assert total("/fhir/Practitioner?family=lam") == 1
    assert total("/fhir/Organization?name=district") == 1
    encounter_id = staff_api.get(f"/fhir/Encounter?patient={pid}&_count=1").json()["entry"][0][
        "resource"
    ]["id"]
    assert total(f"/fhir/Observation?encounter=Encounter/{encounter_id}") == 9
    assert total(f"/fhir/Observation?encounter={encounter_id}&category=laboratory") == 4
    # patient= and subject:Patient= give the same answer (compartment column vs reference index).
    assert total(f"/fhir/Observation?patient={pid}") == total(
        f"/fhir/Observation?subject:Patient={pid}"
    )
    assert total(f"/fhir/Observation?patient=Patient/{pid}&code=8867-4,2339-0") == 24


def test_searches_read_together_are_the_pages_and_audit_rows_of_one_by_one(create, people):
    """search_pages(): the pages, their order, `more` and the audit rows of searching one by
    one; in one statement on PostgreSQL whatever the number of matches, one by one when their
    orders disagree (one date sorted both ways)."""
    from health.fhir.access import requester_for_user
    from health.fhir.models import AuditEvent, PatientLink
    from health.fhir.search import search_page, search_pages
    from tests.factories import UserFactory

    chan, wong = people
    for day, value in ((3, 70), (1, 71), (2, 72), (5, 73)):
        create(observation_body(chan["id"], value=value, when=f"2024-03-0{day}T10:00:00+08:00"))
    create(observation_body(chan["id"], code="29463-7", value=60, category="laboratory"))
    create(observation_body(wong["id"], value=99))  # another patient's: never found
    user = UserFactory()
    PatientLink.objects.create(user=user, patient_id=chan["id"])
    searches = [
        ("Observation", [("patient", chan["id"]), ("_sort", "-date"), ("_count", "3")]),
        ("Observation", [("patient", chan["id"]), ("category", "laboratory")]),  # no sort
        ("Condition", [("patient", chan["id"]), ("_sort", "-onset-date")]),  # nothing
        ("Observation", [("patient", chan["id"]), ("_sort", "-date"), ("_count", "10")]),
    ]
    oldest_first = ("Observation", [("patient", chan["id"]), ("_sort", "date")])
    options = {"count_total": False, "action": "read", "detail": "record page"}

    def read(searches, together):
        AuditEvent.objects.all().delete()
        requester = requester_for_user(user)
        with requester.audit.collecting(), CaptureQueriesContext(connection) as captured:
            if together:
                pages = search_pages(searches, requester, **options)
            else:
                pages = [search_page(t, p, requester, **options) for t, p in searches]
        shown = [([r.resource_id for r in page.matches], page.more) for page in pages]
        rows = sorted(
            AuditEvent.objects.values_list("action", "resource_type", "patient_id", "count")
        )
        return shown, rows, len(captured)

    shown, rows, statements = read(searches, together=True)
    assert (shown, rows) == read(searches, together=False)[:2]
    newest, lab, nothing, all_vitals = shown
    assert len(newest[0]) == 3 and newest[1] is True  # four vital signs, three a page
    assert len(lab[0]) == 1 and nothing == ([], False)
    assert all_vitals == (newest[0] + all_vitals[0][3:], False) and len(all_vitals[0]) == 5
    assert statements == (1 if connection.vendor == "postgresql" else len(searches))
    both_ways = [*searches, oldest_first]
    shown, rows, statements = read(both_ways, together=True)
    assert (shown, rows) == read(both_ways, together=False)[:2]
    assert sorted(shown[-1][0]) == sorted(shown[-2][0]) and statements == len(both_ways)


def test_one_patients_searches_prepared_answer_as_the_orm_does(create, people, staff_user):
    """search_patient_pages(): for each of two patients in one thread (and a resident with
    both records, and clinic staff), the pages and audit rows of searching one by one; on
    PostgreSQL one plain statement (no server-side cursor), its SQL built once per thread and
    shape, never holding a patient's values for the next."""
    from unittest import mock

    from health.fhir import search
    from health.fhir.access import requester_for_user
    from health.fhir.models import AuditEvent, PatientLink
    from tests.factories import UserFactory

    chan, wong = people
    for day, value in ((3, 70), (1, 71), (2, 72), (5, 73)):
        create(observation_body(chan["id"], value=value, when=f"2024-03-0{day}T10:00:00+08:00"))
    create(observation_body(chan["id"], code="29463-7", value=60, category="laboratory"))
    create(observation_body(wong["id"], value=99))
    create(observation_body(wong["id"], value=98, when="2024-04-01T10:00:00+08:00"))
    alone_chan, alone_wong, both = UserFactory(), UserFactory(), UserFactory()
    PatientLink.objects.create(user=alone_chan, patient_id=chan["id"])
    PatientLink.objects.create(user=alone_wong, patient_id=wong["id"])
    for patient in (chan, wong):
        PatientLink.objects.create(user=both, patient_id=patient["id"])
    options = {"count_total": False, "action": "read", "detail": "record page"}

    def searches(pid):
        return [
            ("Observation", [("patient", pid), ("_sort", "-date"), ("_count", "3")]),
            ("Observation", [("patient", pid), ("category", "laboratory"), ("_count", "5")]),
            ("Condition", [("patient", pid), ("_sort", "-onset-date"), ("_count", "5")]),
            ("Observation", [("patient", pid), ("_sort", "-date"), ("_count", "10")]),
        ]

    def read(user, pid, prepared):
        AuditEvent.objects.all().delete()
        requester = requester_for_user(user)
        with requester.audit.collecting(), CaptureQueriesContext(connection) as captured:
            if prepared:
                pages = search.search_patient_pages(searches(pid), pid, requester, **options)
            else:
                pages = [search.search_page(t, p, requester, **options) for t, p in searches(pid)]
        shown = [([(r.resource_id, r.body) for r in page.matches], page.more) for page in pages]
        rows = sorted(
            AuditEvent.objects.values_list(
                "action", "resource_type", "patient_id", "count", "detail", "user"
            )
        )
        sql = [q["sql"] for q in captured.captured_queries if "fhir_auditevent" not in q["sql"]]
        return shown, rows, sql

    search._prepared.statements = {}
    built = mock.patch.object(search, "build_search", wraps=search.build_search)
    cases = [
        (alone_chan, chan),
        (alone_wong, wong),
        (alone_chan, chan),
        (both, wong),
        (both, chan),
        (staff_user, wong),
        (staff_user, chan),
    ]
    for index, (user, patient) in enumerate(cases):
        with built as spy:
            shown, rows, sql = read(user, patient["id"], prepared=True)
        assert (shown, rows) == read(user, patient["id"], prepared=False)[:2]
        assert rows and all(row[2] in ("", patient["id"]) for row in rows)
        found = {rid for page, _more in shown for rid, _body in page}
        other = wong if patient is chan else chan
        assert found and not found & {r["id"] for r in (other,)}
        if connection.vendor == "postgresql":
            assert len(sql) == 1 and "DECLARE" not in sql[0] and "CURSOR" not in sql[0]
            # Built once per shape (one record, two records, staff): not for a second patient.
            assert spy.call_count == (len(searches("x")) if index in (0, 3, 5) else 0)
    chan_vitals = read(alone_chan, chan["id"], prepared=True)[0][0]
    assert len(chan_vitals[0]) == 3 and chan_vitals[1] is True
    # Another patient's record through a resident's own requester: what search_pages() finds
    # (nothing), audited as it audits.
    assert (
        read(alone_chan, wong["id"], prepared=True)[:2]
        == read(alone_chan, wong["id"], prepared=False)[:2]
    )
