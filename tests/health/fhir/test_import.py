import json
from decimal import Decimal

from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from bench.fhir_synthea import patient_bundle
from health.fhir.models import (
    AuditEvent,
    DateIndex,
    QuantityIndex,
    ReferenceIndex,
    Resource,
    ResourceVersion,
    StringIndex,
    TokenIndex,
)

from .conftest import observation_body, patient_body

pytestmark = pytest.mark.django_db


def test_import_folder_reports_bad_files_and_continues(tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(patient_bundle(seed=11, encounters=3)))
    bad = patient_bundle(seed=12, encounters=3)
    bad["entry"][5]["resource"]["status"] = "not-a-status"
    (folder / "b-bad.json").write_text(json.dumps(bad))
    (folder / "c-broken.json").write_text("{oops")
    (folder / "d.json").write_text(json.dumps(patient_bundle(seed=13, encounters=3)))
    (folder / "notes.txt").write_text("ignored")
    with pytest.raises(CommandError, match="2 item"):
        call_command("import_fhir", str(folder))
    out, err = capsys.readouterr()
    assert "4/4 d.json" in out
    assert "b-bad.json" in err and "Bundle.entry[5]" in err
    assert "c-broken.json" in err and "Invalid JSON" in err
    # The two good patients are in, nothing of the bad bundle is.
    assert Resource.objects.filter(resource_type="Patient").count() == 2
    good = len(patient_bundle(seed=11, encounters=3)["entry"]) + len(
        patient_bundle(seed=13, encounters=3)["entry"]
    )
    # The clinic Organization/Practitioner of seeds 11 and 13 differ (clinic 3 and 2).
    assert Resource.objects.count() == good
    assert "Created:" in out
    assert AuditEvent.objects.filter(role="system", actor="import_fhir", action="create").exists()


def test_import_ndjson_rejects_bad_lines(tmp_path, capsys):
    path = tmp_path / "Observation.ndjson"
    lines = [
        json.dumps({**patient_body(), "id": "nd-1"}),
        "{not json",
        json.dumps({"resourceType": "Observation", "status": "final"}),
        json.dumps({**observation_body("nd-1"), "id": "nd-obs-1"}),
        "",
        json.dumps({"resourceType": "Unknown"}),
    ]
    path.write_text("\n".join(lines))
    with pytest.raises(CommandError, match="3 item"):
        call_command("import_fhir", str(path), "--chunk-size", "1")
    _, err = capsys.readouterr()
    assert "line 2" in err and "line 3" in err and "line 6" in err
    assert set(Resource.objects.values_list("resource_id", flat=True)) == {"nd-1", "nd-obs-1"}
    assert Resource.objects.get(resource_id="nd-obs-1").patient_id == "nd-1"
    # Importing again updates by id instead of duplicating.
    path.write_text(lines[0] + "\n" + lines[3])
    call_command("import_fhir", str(path))
    out, _ = capsys.readouterr()
    assert "Updated: 2" in out
    assert Resource.objects.count() == 2


def test_import_single_resource_and_collection(tmp_path, capsys):
    (tmp_path / "p.json").write_text(json.dumps(patient_body()))
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {**patient_body(ident="C1"), "id": "c1"}}],
    }
    (tmp_path / "c.json").write_text(json.dumps(collection))
    call_command("import_fhir", str(tmp_path / "p.json"), str(tmp_path / "c.json"))
    assert Resource.objects.filter(resource_type="Patient").count() == 2
    with pytest.raises(CommandError):
        call_command("import_fhir", str(tmp_path / "missing.json"))


def test_create_fhir_token_command(capsys):
    from django.test import Client

    call_command("create_fhir_token", "Lab", "user/Observation.rs")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("fhir_")
    ok = Client().get("/fhir/Observation", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert ok.status_code == 200
    with pytest.raises(CommandError):
        call_command("create_fhir_token", "Bad", "user/*.xyz")
    call_command("revoke_fhir_token", token.split("_")[1])
    revoked = Client().get("/fhir/Observation", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert revoked.status_code == 401
    with pytest.raises(CommandError):
        call_command("revoke_fhir_token", token.split("_")[1])


# -- the fast paths and --workers ---------------------------------------------------------


INDEX_MODELS = (TokenIndex, StringIndex, DateIndex, ReferenceIndex, QuantityIndex)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("parallel import is for PostgreSQL, the production engine")


def _write_bundle(path, seed, encounters=2):
    bundle = patient_bundle(seed=seed, encounters=encounters)
    path.write_text(json.dumps(bundle))
    return len(bundle["entry"])


def _assert_stored_whole():
    """Every stored resource has its history row and the index rows a search needs."""
    resources = Resource.objects.count()
    assert ResourceVersion.objects.filter(version_id=1).count() == resources
    assert not Resource.objects.exclude(
        pk__in=ResourceVersion.objects.values("current_id")
    ).exists()
    for rtype in ("Observation", "Encounter", "Condition"):
        stored = Resource.objects.filter(resource_type=rtype)
        indexed = TokenIndex.objects.filter(resource_type=rtype).values("resource_id")
        assert stored.exists() and not stored.exclude(pk__in=indexed).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_import_with_two_workers(postgres_only, tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    good = _write_bundle(folder / "a.json", 21)  # clinics 1, 2, 3: no shared conditional
    good += _write_bundle(folder / "c.json", 22)
    good += _write_bundle(folder / "e.json", 23)
    bad = patient_bundle(seed=24, encounters=2)
    bad["entry"][5]["resource"]["status"] = "not-a-status"
    (folder / "b-bad.json").write_text(json.dumps(bad))
    (folder / "d-broken.json").write_text("{oops")
    lines = [
        json.dumps({**patient_body(ident="W1"), "id": "w-1"}),
        json.dumps({**observation_body("w-1"), "id": "w-obs-1"}),
    ]
    (folder / "f.ndjson").write_text("\n".join(lines))
    good += 2

    with pytest.raises(CommandError, match="2 item"):
        call_command("import_fhir", str(folder), "--workers", "2")
    out, err = capsys.readouterr()
    # One progress line per file, counted in the parent as the workers finish them.
    for index in range(1, 7):
        assert f"] {index}/6 " in out
    assert "b-bad.json" in err and "Bundle.entry[5]" in err
    assert "d-broken.json" in err and "Invalid JSON" in err
    assert f"Created: {good} (" in out
    assert Resource.objects.count() == good
    assert Resource.objects.filter(resource_type="Patient").count() == 4
    # Nothing of the bad Bundle, all of the good ones, each with history and index rows.
    assert not Resource.objects.filter(body__contains="P0000024").exists()
    _assert_stored_whole()
    assert AuditEvent.objects.filter(actor="import_fhir", action="create").exists()
    # The workers' data is searchable like any other.
    patient = Resource.objects.get(resource_type="Patient", resource_id="w-1")
    from health.fhir.access import system_requester
    from health.fhir.search import build_search

    search = build_search(
        "Observation", [("patient", patient.resource_id), ("code", "8867-4")], system_requester()
    )
    assert list(search.queryset.values_list("resource_id", flat=True)) == ["w-obs-1"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_sharing_a_conditional_create_both_succeed(postgres_only, tmp_path, capsys):
    # Seeds 30, 33, 36 and 39 all carry clinic 1's Organization and Practitioner with
    # ifNoneExist: the workers race for them, the loser's file is retried, none is lost.
    total = sum(_write_bundle(tmp_path / f"p{seed}.json", seed) for seed in (30, 33, 36, 39))
    call_command("import_fhir", str(tmp_path), "--workers", "2")
    out, _ = capsys.readouterr()
    assert "without rejections" in out
    assert Resource.objects.filter(resource_type="Organization").count() == 1
    assert Resource.objects.filter(resource_type="Practitioner").count() == 1
    assert Resource.objects.filter(resource_type="Patient").count() == 4
    assert Resource.objects.count() == total - 6  # three files matched the clinic's two
    _assert_stored_whole()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_writing_the_same_new_ids_in_opposite_orders_do_not_deadlock(
    postgres_only, tmp_path, capsys
):
    # Per-patient exports that share the clinic's staff, listed in a different order in each
    # file: both workers bulk-insert the same new ids at the same time.
    ids = [f"shared-{n:04d}" for n in range(1500)]

    def bundle(order):
        entries = [
            {
                "resource": {"resourceType": "Practitioner", "id": rid, "active": True},
                "request": {"method": "PUT", "url": f"Practitioner/{rid}"},
            }
            for rid in order
        ]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    (tmp_path / "a.json").write_text(json.dumps(bundle(ids)))
    (tmp_path / "b.json").write_text(json.dumps(bundle(list(reversed(ids)))))
    call_command("import_fhir", str(tmp_path), "--workers", "2")
    out, err = capsys.readouterr()
    assert "without rejections" in out, err
    assert Resource.objects.filter(resource_type="Practitioner").count() == len(ids)
    # One file created them, the other updated them: two versions each, none lost.
    assert ResourceVersion.objects.filter(resource_type="Practitioner").count() == 2 * len(ids)


def test_a_deadlock_is_retried_and_other_database_errors_are_not():
    from django.db import DatabaseError

    from health.fhir import importer

    class Cause(Exception):
        def __init__(self, sqlstate):
            self.sqlstate = sqlstate

    def failing(sqlstate, times):
        calls = []

        def run():
            calls.append(1)
            if len(calls) <= times:
                raise DatabaseError("boom") from Cause(sqlstate)
            return "done"

        return run, calls

    run, calls = failing("40P01", 2)
    assert importer._retrying(run) == "done" and len(calls) == 3
    run, calls = failing("40P01", 3)
    with pytest.raises(DatabaseError):
        importer._retrying(run)
    run, calls = failing("23505", 1)  # a unique violation is the file's own problem
    with pytest.raises(DatabaseError):
        importer._retrying(run)
    assert len(calls) == 1


def test_workers_refused_on_sqlite(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded profile")
    (tmp_path / "p.json").write_text(json.dumps(patient_body()))
    with pytest.raises(CommandError, match="--workers"):
        call_command("import_fhir", str(tmp_path), "--workers", "2")
    assert not Resource.objects.exists()


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(CommandError, match="--workers"):
        call_command("import_fhir", str(tmp_path), "--workers", "0")


def test_workers_refused_inside_a_transaction(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite is refused before this check")
    (tmp_path / "p.json").write_text(json.dumps(patient_body()))
    # This test runs inside a transaction (pytest-django rolls it back): forked workers
    # could neither see it nor be rolled back with it.
    with pytest.raises(CommandError, match="--workers"):
        call_command("import_fhir", str(tmp_path), "--workers", "2")


def test_ndjson_with_ids_is_bulk_created_with_put_history(tmp_path, capsys):
    path = tmp_path / "export.ndjson"
    lines = [json.dumps({**patient_body(ident=f"B{i}"), "id": f"bulk-{i}"}) for i in range(5)]
    lines += [
        json.dumps({**observation_body(f"bulk-{i}", value=60 + i), "id": f"bulk-obs-{i}"})
        for i in range(5)
    ]
    path.write_text("\n".join(lines))
    with CaptureQueriesContext(connection) as queries:
        call_command("import_fhir", str(path))
    # A handful of bulk statements, not several per resource.
    assert len(queries) < 30, [q["sql"][:80] for q in queries]
    out, _ = capsys.readouterr()
    assert "Created: 10" in out
    versions = ResourceVersion.objects.filter(resource_id__startswith="bulk-")
    assert versions.count() == 10
    assert set(versions.values_list("method", "version_id")) == {("PUT", 1)}
    _assert_index_of("bulk-obs-3", quantity=Decimal("63"), reference="bulk-3")
    assert Resource.objects.get(resource_id="bulk-obs-3").patient_id == "bulk-3"
    # Each created resource is audited as before (one row per PUT).
    assert AuditEvent.objects.filter(action="create", resource_id="bulk-obs-3").count() == 1


def _assert_index_of(resource_id, *, quantity, reference):
    resource = Resource.objects.get(resource_id=resource_id)
    assert QuantityIndex.objects.get(resource=resource, param="value-quantity").value == quantity
    assert set(
        ReferenceIndex.objects.filter(resource=resource).values_list("param", "target_id")
    ) == {("subject", reference), ("patient", reference)}
    assert DateIndex.objects.filter(resource=resource, param="date").count() == 1
    assert TokenIndex.objects.filter(resource=resource, param="code", code="8867-4").exists()


def test_put_bundle_mixing_new_existing_and_repeated_ids(staff_api, create):
    existing = create(patient_body(family="Old", ident="X1"))
    put = [
        {**patient_body(family="New", ident="X2"), "id": "mix-new"},
        {**patient_body(family="Updated", ident="X1"), "id": existing["id"]},
        {**patient_body(family="Twice", ident="X3"), "id": "mix-twice"},
        {**patient_body(family="Twice2", ident="X3"), "id": "mix-twice"},
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": body, "request": {"method": "PUT", "url": f"Patient/{body['id']}"}}
            for body in put
        ],
    }
    result = staff_api.post("/fhir/", bundle).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "200 OK", "201 Created", "200 OK"]
    assert result["entry"][0]["response"]["location"] == "Patient/mix-new/_history/1"
    assert Resource.objects.get(resource_id="mix-twice").version_id == 2
    assert staff_api.get("/fhir/Patient", {"family": "twice2"}).json()["total"] == 1
    assert staff_api.get("/fhir/Patient", {"family": "new"}).json()["total"] == 1
    assert staff_api.get(f"/fhir/Patient/{existing['id']}").json()["meta"]["versionId"] == "2"


def test_put_with_wrong_body_id_rolls_back_the_bulk(staff_api):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**patient_body(ident="R1"), "id": "ok-1"},
                "request": {"method": "PUT", "url": "Patient/ok-1"},
            },
            {"resource": patient_body(ident="R2"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**patient_body(ident="R3"), "id": "other"},
                "request": {"method": "PUT", "url": "Patient/wrong"},
            },
        ],
    }
    response = staff_api.post("/fhir/", bundle)
    assert response.status_code == 400
    assert "Bundle.entry[2]" in response.json()["issue"][0]["expression"]
    assert not Resource.objects.exists()
    assert not ResourceVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="create").exists()


def test_put_created_meanwhile_falls_back_to_an_update(staff_api, create, monkeypatch):
    """A client id that another writer took after the bundle looked becomes an update."""
    from health.fhir import bundles

    existing = create(patient_body(family="First", ident="F1"))
    # Pretend the look-up ran before the other writer committed.
    monkeypatch.setattr(
        bundles, "_fresh_put_targets", lambda entries: {("Patient", existing["id"])}
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient_body(ident="F2"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**patient_body(family="Second", ident="F1"), "id": existing["id"]},
                "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
            },
        ],
    }
    result = staff_api.post("/fhir/", bundle)
    assert result.status_code == 200, result.content
    statuses = [e["response"]["status"] for e in result.json()["entry"]]
    assert statuses == ["201 Created", "200 OK"]
    assert Resource.objects.count() == 2
    assert ResourceVersion.objects.filter(resource_id=existing["id"]).count() == 2
    assert staff_api.get("/fhir/Patient", {"family": "second"}).json()["total"] == 1


def test_ndjson_lines_are_validated_once(tmp_path, monkeypatch):
    from health.fhir import bundles, importer

    calls = []
    real = importer.validate_resource

    def counting(*args, **kwargs):
        calls.append(args[0].get("id"))
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "validate_resource", counting)
    monkeypatch.setattr(bundles, "validate_resource", counting)
    path = tmp_path / "p.ndjson"
    path.write_text(
        "\n".join(json.dumps({**patient_body(ident=f"V{i}"), "id": f"v-{i}"}) for i in range(3))
    )
    call_command("import_fhir", str(path))
    assert sorted(calls) == ["v-0", "v-1", "v-2"]
    assert Resource.objects.count() == 3


# -- a failure inside one file --------------------------------------------------------------


def _ndjson(path, ids):
    path.write_text("\n".join(json.dumps({**patient_body(ident=i), "id": i}) for i in ids))


def test_a_write_that_fails_mid_file_ends_that_file_only(tmp_path, monkeypatch):
    # chunks of 2: the second transaction of a.ndjson fails in the database. Its first
    # chunk stays (committed and reported), the rest of the file is not written, and the
    # next file goes in whole.
    from django.db import DatabaseError

    from health.fhir import importer
    from health.fhir.access import system_requester

    _ndjson(tmp_path / "a.ndjson", [f"a-{n}" for n in range(6)])
    _ndjson(tmp_path / "b.ndjson", [f"b-{n}" for n in range(3)])
    real, calls = importer.run_parsed, []

    def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "run_parsed", failing_second)
    finished = []
    report = importer.import_files(
        [tmp_path],
        system_requester("test"),
        chunk_size=2,
        progress=lambda i, total, path, created, error: finished.append((path.name, error)),
    )
    assert finished == [("a.ndjson", "database error: disk full"), ("b.ndjson", None)]
    assert report.created["Patient"] == 2 + 3
    stored = sorted(Resource.objects.values_list("resource_id", flat=True))
    assert stored == ["a-0", "a-1", "b-0", "b-1", "b-2"]


def test_a_failing_progress_callback_stops_the_import(tmp_path):
    from health.fhir.access import system_requester
    from health.fhir.importer import import_files

    for n in range(4):
        _ndjson(tmp_path / f"f{n}.ndjson", [f"f{n}-{m}" for m in range(3)])

    def progress(*args):
        raise RuntimeError("the screen went away")

    with pytest.raises(RuntimeError):
        import_files([tmp_path], system_requester("test"), progress=progress, chunk_size=1)
    assert Resource.objects.count() == 3  # the first file, committed before the callback
