import json

from django.core.management import CommandError, call_command

import pytest

from bench.fhir_synthea import patient_bundle
from health.fhir.models import Resource
from health.records.models import AuditEvent

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
