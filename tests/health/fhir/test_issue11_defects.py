"""Issue 11's defects, found by testing the API the way outside users would: each test
failed on the code before the fix."""

import json

from django.core.management import CommandError, call_command
from django.test import override_settings

import pytest

from health.fhir.models import ConditionalCreateKey, Resource

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


def outcome(response, status):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body


def entries(response):
    assert response.status_code == 200, response.content[:500]
    return response.json().get("entry", [])


# -- 1. search parameters a type does not have ----------------------------------------------


@pytest.mark.parametrize(
    "resource_type,body",
    [
        ("Goal", {"lifecycleStatus": "active", "description": {"text": "Walk daily"}}),
        ("CareTeam", {}),
        ("ImagingStudy", {"status": "available"}),
        ("Device", {}),
    ],
)
def test_r4_patient_compartment_parameters_are_supported(staff_api, create, resource_type, body):
    patient = create(patient_body())
    other = create(patient_body(ident="B2"))
    element = "patient" if resource_type == "Device" else "subject"
    create(
        {"resourceType": resource_type, element: {"reference": f"Patient/{patient['id']}"}, **body}
    )
    found = entries(staff_api.get(f"/fhir/{resource_type}", {"patient": patient["id"]}))
    assert len(found) == 1
    assert entries(staff_api.get(f"/fhir/{resource_type}", {"patient": other["id"]})) == []
    metadata = staff_api.get("/fhir/metadata").json()
    [entry] = [r for r in metadata["rest"][0]["resource"] if r["type"] == resource_type]
    assert "patient" in {p["name"] for p in entry["searchParam"]}


@pytest.mark.parametrize("resource_type", ["Practitioner", "Organization", "Patient"])
def test_an_unknown_parameter_is_a_400_not_a_500(staff_api, resource_type):
    body = outcome(staff_api.get(f"/fhir/{resource_type}", {"patient": "x"}), 400)
    assert "patient" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["code"] == "not-supported"


def test_lenient_handling_ignores_unknown_parameters(staff_api, create):
    create(patient_body())
    response = staff_api.get("/fhir/Practitioner", {"patient": "x"}, Prefer="handling=lenient")
    bundle = response.json()
    assert response.status_code == 200 and bundle["total"] == 0
    # The self link names only the parameters that were applied.
    assert "patient" not in bundle["link"][0]["url"]


def test_unknown_parameters_in_every_route_that_searches(staff_api, create):
    patient = create(patient_body())
    practitioner = {"resourceType": "Practitioner", "name": [{"family": "Wong"}]}
    outcome(staff_api.post("/fhir/Practitioner", practitioner, If_None_Exist="patient=x"), 400)
    outcome(staff_api.put("/fhir/Practitioner?patient=x", practitioner), 400)
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": observation_body(patient["id"])
                | {"performer": [{"reference": "Practitioner?patient=x"}]},
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    outcome(staff_api.post("/fhir/", transaction), 400)
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Goal?patient=x"}},
            {"request": {"method": "GET", "url": "Practitioner?patient=x"}},
            {"request": {"method": "GET", "url": f"Patient/{patient['id']}"}},
        ],
    }
    response = staff_api.post("/fhir/", batch)
    assert response.status_code == 200, response.content
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("200") and statuses[1] == "400" and statuses[2].startswith("200")


# -- 2. budgets --------------------------------------------------------------------------------


def _search_batch(count, query="Observation?_count=1000"):
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": query}} for _ in range(count)],
    }


def test_a_batch_entry_gets_at_most_the_entry_page_size(staff_api, create, settings):
    patient = create(patient_body())
    for value in range(5):
        create(observation_body(patient["id"], value=60 + value))
    settings.FHIR_BUNDLE_ENTRY_COUNT = 2
    response = staff_api.post("/fhir/", _search_batch(1))
    [entry] = response.json()["entry"]
    page = entry["resource"]
    assert len(page["entry"]) == 2
    assert any(link["relation"] == "next" for link in page["link"])


def test_a_batch_over_its_response_budget_is_a_413(staff_api, create, settings):
    patient = create(patient_body())
    for value in range(5):
        create(observation_body(patient["id"], value=60 + value))
    settings.FHIR_BUNDLE_MAX_RESPONSE_BYTES = 5000
    body = outcome(staff_api.post("/fhir/", _search_batch(50)), 413)
    assert body["issue"][0]["code"] == "too-costly"


def test_a_batch_over_its_time_budget_is_a_413(staff_api, create, settings):
    create(patient_body())
    settings.FHIR_BUNDLE_MAX_SECONDS = 0
    outcome(staff_api.post("/fhir/", _search_batch(3, "Patient")), 413)


def test_a_batch_that_wrote_keeps_its_writes_and_reports_the_rest(staff_api, create, settings):
    create(patient_body())
    settings.FHIR_BUNDLE_MAX_RESPONSE_BYTES = 1500
    batch = _search_batch(20, "Patient")
    batch["entry"].insert(
        0,
        {
            "resource": patient_body(ident="NEW"),
            "request": {"method": "POST", "url": "Patient"},
        },
    )
    response = staff_api.post("/fhir/", batch)
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201")
    assert "413" in statuses
    assert Resource.objects.filter(resource_type="Patient").count() == 2


def test_a_transaction_over_budget_changes_nothing(staff_api, settings):
    settings.FHIR_BUNDLE_MAX_SECONDS = 0
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": patient_body(), "request": {"method": "POST", "url": "Patient"}}],
    }
    outcome(staff_api.post("/fhir/", transaction), 413)
    assert not Resource.objects.exists()


def test_a_search_page_stops_at_its_byte_budget_with_a_next_link(staff_api, create, settings):
    patient = create(patient_body())
    for value in range(6):
        create(observation_body(patient["id"], value=60 + value))
    settings.FHIR_MAX_PAGE_BYTES = 1500
    bundle = staff_api.get("/fhir/Observation", {"_count": "50"}).json()
    assert 0 < len(bundle["entry"]) < 6
    [next_link] = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    assert f"_offset={len(bundle['entry'])}" in next_link


def test_includes_are_bounded_with_a_warning(staff_api, create, settings):
    patient = create(patient_body())
    for value in range(4):
        create(observation_body(patient["id"], value=60 + value))
    settings.FHIR_MAX_INCLUDES = 2
    bundle = staff_api.get(
        "/fhir/Patient", {"_id": patient["id"], "_revinclude": "Observation:patient"}
    ).json()
    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes.count("include") == 2 and modes[-1] == "outcome"


def test_everything_pages_stop_at_the_byte_budget(staff_api, create, settings):
    patient = create(patient_body())
    for value in range(6):
        create(observation_body(patient["id"], value=60 + value))
    settings.FHIR_MAX_PAGE_BYTES = 1500
    bundle = staff_api.get(f"/fhir/Patient/{patient['id']}/$everything").json()
    assert bundle["total"] == 7 and 0 < len(bundle["entry"]) < 7
    assert any(link["relation"] == "next" for link in bundle["link"])


# -- 3. deep nesting and huge integers ---------------------------------------------------------


def test_a_body_nested_50000_deep_is_a_400(staff_api):
    deep = '{"resourceType":"Patient","extension":' + "[" * 50_000 + "]" * 50_000 + "}"
    outcome(staff_api.post("/fhir/Patient", deep), 400)
    outcome(staff_api.post("/fhir/", deep.replace("Patient", "Bundle")), 400)


def test_a_body_nested_a_few_hundred_deep_is_a_400(staff_api):
    nested = {"url": "http://x", "valueString": "a"}
    for _ in range(300):
        nested = {"url": "http://x", "extension": [nested]}
    outcome(
        staff_api.post("/fhir/Patient", {"resourceType": "Patient", "extension": [nested]}), 400
    )


def test_an_integer_of_5000_digits_is_a_400(staff_api):
    body = (
        '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":'
        + "9" * 5000
        + "}"
    )
    outcome(staff_api.post("/fhir/Observation", body), 400)


# -- 4. decimals read back exactly -------------------------------------------------------------


def test_decimals_read_back_exactly_as_written(staff_api, create):
    patient = create(patient_body())
    text = json.dumps(observation_body(patient["id"])).replace('"value": 72', '"value": 105.00')
    text = (
        text[:-1]
        + ', "referenceRange": [{"low": {"value": 0.40}, "high": {"value": 66.899999999999991}}]}'
    )
    created = staff_api.post("/fhir/Observation", text)
    assert created.status_code == 201, created.content
    for response in (created, staff_api.get(f"/fhir/Observation/{created.json()['id']}")):
        raw = response.content.decode()
        assert '"value":105.00' in raw
        assert '"value":0.40' in raw
        assert '"value":66.899999999999991' in raw
    search = staff_api.get("/fhir/Observation", {"value-quantity": "105"}).content.decode()
    assert '"value":105.00' in search


# -- 5. invalid content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,element",
    [
        (
            {"resourceType": "Observation", "status": "bogus", "code": {"text": "x"}},
            "Observation.status",
        ),
        ({"resourceType": "Patient", "gender": "banana"}, "Patient.gender"),
        (
            {
                "resourceType": "Condition",
                "subject": {"reference": "Patient/nobody"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "sort-of",
                        }
                    ]
                },
            },
            "Condition.clinicalStatus",
        ),
        (
            {"resourceType": "Patient", "name": [{"family": "x" * (1024 * 1024 + 1)}]},
            "Patient.name[0].family",
        ),
    ],
)
def test_invalid_content_is_a_422_naming_the_element(staff_api, body, element):
    response = staff_api.post(f"/fhir/{body['resourceType']}", body)
    result = outcome(response, 422)
    assert any(element in e for issue in result["issue"] for e in issue.get("expression", [])), (
        result
    )
    assert not Resource.objects.exists()


def test_references_to_missing_resources_are_refused(staff_api, create):
    patient = create(patient_body())
    missing = observation_body("nobody")
    result = outcome(staff_api.post("/fhir/Observation", missing), 422)
    assert result["issue"][0]["expression"] == ["Observation.subject.reference"]
    dangling = observation_body(patient["id"], encounter_id="no-such-visit")
    result = outcome(staff_api.put("/fhir/Observation/o1", {**dangling, "id": "o1"}), 422)
    assert result["issue"][0]["expression"] == ["Observation.encounter.reference"]
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": observation_body(patient["id"])
                | {"subject": {"reference": "urn:uuid:3f1c7a55-0000-4000-8000-000000000000"}},
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    result = outcome(staff_api.post("/fhir/", transaction), 422)
    assert result["issue"][0]["expression"] == ["Bundle.entry[0].resource.subject.reference"]
    assert Resource.objects.filter(resource_type="Observation").count() == 0


def test_references_inside_the_same_transaction_resolve(staff_api):
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:3f1c7a55-0000-4000-8000-000000000001",
                "resource": patient_body(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": observation_body("x")
                | {"subject": {"reference": "urn:uuid:3f1c7a55-0000-4000-8000-000000000001"}},
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "resource": {
                    **patient_body(ident="P2"),
                    "id": "p2",
                    "link": [{"other": {"reference": "Patient/p3"}, "type": "seealso"}],
                },
                "request": {"method": "PUT", "url": "Patient/p2"},
            },
            {
                "resource": {**patient_body(ident="P3"), "id": "p3"},
                "request": {"method": "PUT", "url": "Patient/p3"},
            },
        ],
    }
    response = staff_api.post("/fhir/", transaction)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "div",
    [
        "<div xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></div>",
        "<div xmlns='http://www.w3.org/1999/xhtml'><img src='x' onerror='alert(1)'/></div>",
        "<div xmlns='http://www.w3.org/1999/xhtml'><a href='javascript:alert(1)'>x</a></div>",
    ],
)
def test_narrative_with_active_content_is_refused(staff_api, div):
    body = {**patient_body(), "text": {"status": "generated", "div": div}}
    result = outcome(staff_api.post("/fhir/Patient", body), 422)
    assert result["issue"][0]["expression"] == ["Patient.text.div"]


def test_plain_narrative_is_kept(staff_api):
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Chan <b>Tai Man</b></p></div>'
    body = {**patient_body(), "text": {"status": "generated", "div": div}}
    assert staff_api.post("/fhir/Patient", body).json()["text"]["div"] == div


# -- 6. a bulk-export folder in one run ---------------------------------------------------------


def test_a_bulk_export_folder_loads_in_one_run(tmp_path, capsys):
    patient = {**patient_body(), "id": "bulk-p"}
    practitioner = {
        "resourceType": "Practitioner",
        "id": "bulk-dr",
        "identifier": [{"system": "urn:npi", "value": "999"}],
    }
    observations = [
        {
            **observation_body("bulk-p", value=60 + i),
            "id": f"bulk-o{i}",
            "performer": [{"reference": "Practitioner?identifier=urn:npi|999"}],
        }
        for i in range(3)
    ]
    # hasMember points at a later line; the Encounter file refers to the Observation file.
    observations[0]["hasMember"] = [{"reference": "Observation/bulk-o2"}]
    encounter = {
        "resourceType": "Encounter",
        "id": "bulk-e",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/bulk-p"},
    }
    observations[1]["encounter"] = {"reference": "Encounter/bulk-e"}
    # Alphabetically the Observations come first: the folder order must not matter.
    (tmp_path / "Observation.ndjson").write_text("\n".join(json.dumps(o) for o in observations))
    (tmp_path / "Encounter.ndjson").write_text(json.dumps(encounter))
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient))
    (tmp_path / "Practitioner.ndjson").write_text(json.dumps(practitioner))
    call_command("import_fhir", str(tmp_path), "--chunk-size", "1")
    out, _ = capsys.readouterr()
    assert Resource.objects.filter(resource_id__startswith="bulk-").count() == 6, out


def test_a_bad_file_is_reported_and_the_others_load(tmp_path, capsys):
    (tmp_path / "a-deep.json").write_text(
        '{"resourceType":"Patient","extension":' + "[" * 50_000 + "]" * 50_000 + "}"
    )
    (tmp_path / "b-good.json").write_text(json.dumps({**patient_body(), "id": "good"}))
    with pytest.raises(CommandError, match="1 item"):
        call_command("import_fhir", str(tmp_path))
    _out, err = capsys.readouterr()
    assert Resource.objects.filter(resource_id="good").exists()
    assert "a-deep.json file: The JSON nests deeper" in err


def test_the_staff_import_screen_reports_deep_json(client, staff_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(staff_user)
    deep = ('{"resourceType":"Patient","extension":' + "[" * 50_000 + "]" * 50_000 + "}").encode()
    response = client.post(
        "/admin/health/patients/import/",
        {"file": SimpleUploadedFile("deep.json", deep, content_type="application/json")},
    )
    assert response.status_code == 200
    assert not Resource.objects.exists()


# -- 7. CodeSystems with primitive extensions inside extensions --------------------------------


def test_a_codesystem_with_value_string_extensions_is_accepted(staff_api):
    code_system = {
        "resourceType": "CodeSystem",
        "url": "http://district.example/CodeSystem/clinic-service",
        "status": "active",
        "content": "complete",
        "concept": [
            {
                "code": "general",
                "display": "General practice",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/codesystem-concept-comments",
                        "valueString": "Walk-in",
                        "_valueString": {
                            "extension": [
                                {
                                    "url": "http://hl7.org/fhir/StructureDefinition/translation",
                                    "extension": [
                                        {"url": "lang", "valueCode": "zh-Hant"},
                                        {"url": "content", "valueString": "即日"},
                                    ],
                                }
                            ]
                        },
                    }
                ],
            }
        ],
    }
    response = staff_api.post("/fhir/CodeSystem", code_system)
    assert response.status_code == 201, response.content
    stored = response.json()["concept"][0]["extension"][0]
    assert stored["_valueString"]["extension"][0]["extension"][1]["valueString"] == "即日"
    bad = json.loads(json.dumps(code_system))
    bad["concept"][0]["extension"][0]["_valueString"] = {"extension": "nope"}
    outcome(staff_api.post("/fhir/CodeSystem", bad), 422)


# -- 8. OperationOutcome, return=minimal, _summary/_elements/_format ---------------------------


def test_operation_outcome_is_named_as_a_type_the_server_only_returns(staff_api):
    result = outcome(staff_api.get("/fhir/OperationOutcome/x"), 404)
    assert "Unknown resource type" not in result["issue"][0]["diagnostics"]
    assert "only returns" in result["issue"][0]["diagnostics"]
    assert (
        "Unknown resource type"
        in outcome(staff_api.get("/fhir/Nonsense/x"), 404)["issue"][0]["diagnostics"]
    )


def test_return_minimal_has_no_html_content_type(staff_api):
    response = staff_api.post("/fhir/Patient", patient_body(), Prefer="return=minimal")
    assert response.status_code == 201
    assert not response.content
    assert "html" not in response.get("Content-Type", "")
    assert response["Location"]


def test_return_operation_outcome(staff_api):
    response = staff_api.post("/fhir/Patient", patient_body(), Prefer="return=OperationOutcome")
    assert response.status_code == 201
    assert response.json()["resourceType"] == "OperationOutcome"


def test_summary_elements_and_format_on_read_and_search_alike(staff_api, create):
    patient = create(
        {
            **patient_body(),
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">Chan</div>',
            },
        }
    )
    url = f"/fhir/Patient/{patient['id']}"
    read = staff_api.get(url, {"_elements": "gender"}).json()
    assert set(read) == {"resourceType", "id", "meta", "gender"}
    assert read["meta"]["tag"][0]["code"] == "SUBSETTED"
    [found] = staff_api.get("/fhir/Patient", {"_elements": "gender"}).json()["entry"]
    assert set(found["resource"]) == set(read)
    assert "text" not in staff_api.get(url, {"_summary": "data"}).json()
    summary = staff_api.get(url, {"_summary": "true"}).json()
    assert "name" in summary and "text" not in summary
    assert set(staff_api.get(url, {"_summary": "text"}).json()) >= {"text", "id"}
    assert staff_api.get(url, {"_format": "json"}).status_code == 200
    outcome(staff_api.get(url, {"_format": "xml"}), 406)
    outcome(staff_api.get("/fhir/Patient", {"_format": "xml"}), 406)
    outcome(staff_api.get(url, {"_elements": "gender", "bogus": "1"}), 400)


# -- 9. another server's patient is not ours ---------------------------------------------------


def test_an_absolute_reference_to_another_server_is_not_a_local_patient(
    staff_api, make_resident_api
):
    staff_api.put("/fhir/Patient/demo-chan-taiman", {**patient_body(), "id": "demo-chan-taiman"})
    foreign = observation_body("x") | {
        "subject": {"reference": "https://other-hospital.example/fhir/Patient/demo-chan-taiman"}
    }
    created = staff_api.post("/fhir/Observation", foreign)
    assert created.status_code == 201, created.content
    assert Resource.objects.get(resource_id=created.json()["id"]).patient_id == ""
    resident = make_resident_api("demo-chan-taiman")
    assert entries(resident.get("/fhir/Observation")) == []
    assert (
        entries(staff_api.get("/fhir/Observation", {"subject": "Patient/demo-chan-taiman"})) == []
    )
    assert (
        len(
            entries(
                staff_api.get(
                    "/fhir/Observation",
                    {"subject": "https://other-hospital.example/fhir/Patient/demo-chan-taiman"},
                )
            )
        )
        == 1
    )


@override_settings(FHIR_BASE_URL="https://portal.example/fhir")
def test_an_absolute_reference_to_this_server_is_local(staff_api):
    staff_api.put("/fhir/Patient/p1", {**patient_body(), "id": "p1"})
    mine = observation_body("x") | {
        "subject": {"reference": "https://portal.example/fhir/Patient/p1"}
    }
    created = staff_api.post("/fhir/Observation", mine)
    assert created.status_code == 201, created.content
    assert Resource.objects.get(resource_id=created.json()["id"]).patient_id == "p1"


# -- 10. a patient-scoped client cannot tell whether another patient's resource exists --------


def test_every_verb_answers_alike_for_another_patients_resource_and_a_free_id(
    make_token_api, staff_api, create
):
    ann = create(patient_body(ident="ANN"))
    bob = create(patient_body(ident="BOB"))
    bobs = create(observation_body(bob["id"]))
    api = make_token_api("patient/*.cruds", patient_id=ann["id"])
    mine = {**observation_body(ann["id"])}
    for resource_id in (bobs["id"], "free-id"):
        body = {**mine, "id": resource_id}
        assert api.get(f"/fhir/Observation/{resource_id}").status_code == 404
        assert api.put(f"/fhir/Observation/{resource_id}", body).status_code == 404
        assert api.delete(f"/fhir/Observation/{resource_id}").status_code == 404
        assert api.get(f"/fhir/Observation/{resource_id}/_history").status_code == 404
    assert Resource.objects.get(resource_id=bobs["id"]).version_id == 1


def test_conditional_creates_of_two_patients_do_not_share_a_key(make_token_api, create):
    ann = create(patient_body(ident="ANN"))
    bob = create(patient_body(ident="BOB"))
    criteria = "identifier=urn:lab|sample-1"
    for patient in (ann, bob):
        api = make_token_api("patient/*.cruds", patient_id=patient["id"])
        body = observation_body(patient["id"]) | {
            "identifier": [{"system": "urn:lab", "value": "sample-1"}]
        }
        response = api.post("/fhir/Observation", body, If_None_Exist=criteria)
        assert response.status_code == 201, response.content
    assert ConditionalCreateKey.objects.count() == 2


def test_a_reference_to_another_patients_resource_looks_missing(make_token_api, create):
    ann = create(patient_body(ident="ANN"))
    bob = create(patient_body(ident="BOB"))
    bobs_visit = create(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{bob['id']}"},
        }
    )
    api = make_token_api("patient/*.cruds", patient_id=ann["id"])
    for encounter in (bobs_visit["id"], "no-such-visit"):
        result = outcome(
            api.post("/fhir/Observation", observation_body(ann["id"], encounter_id=encounter)), 422
        )
        assert result["issue"][0]["diagnostics"].endswith(f"Encounter/{encounter} is not known")


# -- 11. more 500s -----------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["_count", "_offset"])
@pytest.mark.parametrize("value", ["²", "٣", "9223372036854775808", "-1"])
def test_paging_values_are_400s(staff_api, create, param, value):
    patient = create(patient_body())
    for url in (
        f"/fhir/Patient/{patient['id']}/_history",
        "/fhir/_history",
        f"/fhir/Patient/{patient['id']}/$everything",
        "/fhir/Patient",
    ):
        response = staff_api.get(url, {param: value})
        assert response.status_code == 400, (url, response.content)


def test_nul_in_a_projected_search_is_a_400(staff_api):
    outcome(staff_api.get("/fhir/Appointment", {"patient": "a\x00b"}), 400)


def test_a_content_length_of_other_digits_is_no_server_error(staff_api):
    # "²" passes str.isdigit() but not int(); the body's real size is what counts.
    response = staff_api.client.post(
        "/fhir/Patient",
        json.dumps(patient_body()),
        content_type="application/fhir+json",
        CONTENT_LENGTH="²",
    )
    assert response.status_code < 500
