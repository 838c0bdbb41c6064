"""Importing FHIR data from files: Bundles (.json), single resources and NDJSON.

One file is one unit: a transaction Bundle goes in whole or not at all, and a bad file is
reported and skipped while the import carries on with the next. NDJSON (bulk export
format, one resource per line) is checked line by line; bad lines are rejected with their
line number and the good ones are written in transactions of `chunk_size` resources.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from health.records.audit import AuditTrail

from .bundles import process_bundle
from .errors import FhirError
from .validation import parse_json, validate_resource

SUFFIXES = (".json", ".ndjson")


@dataclass
class ImportReport:
    files: int = 0
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    # (file, where, reason)
    rejected: list = field(default_factory=list)

    @property
    def total_created(self):
        return sum(self.created.values())


def find_files(paths):
    """Every importable file under the given files and folders, sorted."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        else:
            out.append(path)
    return out


def _as_transaction(resources):
    """Wrap resources in a transaction: PUT for those with an id (idempotent), else POST."""
    entries = []
    for resource in resources:
        rtype = resource.get("resourceType")
        if resource.get("id"):
            request = {"method": "PUT", "url": f"{rtype}/{resource['id']}"}
        else:
            request = {"method": "POST", "url": rtype}
        entries.append({"resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _kinds(bundle):
    """(resource type, method) of each entry, to label the response entries."""
    out = []
    for entry in bundle.get("entry") or []:
        request = (entry.get("request") or {}) if isinstance(entry, dict) else {}
        url = str(request.get("url") or "")
        out.append((url.split("?")[0].split("/")[0], request.get("method")))
    return out


def _tally(report, response_text, kinds):
    response = json.loads(response_text)
    for entry, (rtype, method) in zip(response.get("entry", []), kinds, strict=False):
        status = entry.get("response", {}).get("status", "")
        if status.startswith("201"):
            report.created[rtype] += 1
        elif status.startswith("200"):
            (report.updated if method == "PUT" else report.unchanged)[rtype] += 1
        elif status.startswith("204"):
            pass
        else:
            outcome = entry.get("response", {}).get("outcome", {})
            reason = (outcome.get("issue") or [{}])[0].get("diagnostics", status)
            report.rejected.append(("", rtype, reason))


def _run(bundle, requester, base):
    return process_bundle(bundle, requester, base, AuditTrail(requester))


def import_json_file(path, report, requester, base):
    data = parse_json(Path(path).read_bytes())
    if data.get("resourceType") == "Bundle" and data.get("type") in ("transaction", "batch"):
        bundle = data
    elif data.get("resourceType") == "Bundle":
        # collection, searchset, document...: store the resources they carry.
        resources = [e.get("resource") for e in data.get("entry") or [] if isinstance(e, dict)]
        bundle = _as_transaction([r for r in resources if isinstance(r, dict)])
    else:
        bundle = _as_transaction([data])
    before = len(report.rejected)
    _tally(report, _run(bundle, requester, base), _kinds(bundle))
    for i in range(before, len(report.rejected)):
        report.rejected[i] = (str(path), *report.rejected[i][1:])


def import_ndjson_file(path, report, requester, base, chunk_size=1000):
    chunk = []

    def flush():
        if chunk:
            bundle = _as_transaction(chunk)
            _tally(report, _run(bundle, requester, base), _kinds(bundle))
            chunk.clear()

    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                resource = parse_json(line)
                validate_resource(resource)
            except FhirError as error:
                report.rejected.append((str(path), f"line {number}", str(error)))
                continue
            chunk.append(resource)
            if len(chunk) >= chunk_size:
                flush()
    flush()


def import_files(paths, requester, base="urn:import", progress=None, chunk_size=1000):
    """Import every file; a failing file is recorded in the report and the rest go on."""
    report = ImportReport()
    files = find_files(paths)
    for index, path in enumerate(files, start=1):
        report.files += 1
        before = report.total_created
        try:
            if path.suffix == ".ndjson":
                import_ndjson_file(path, report, requester, base, chunk_size)
            else:
                import_json_file(path, report, requester, base)
            error = None
        except FhirError as exc:
            error = "; ".join(i.get("diagnostics", "") for i in exc.issues)
            report.rejected.append((str(path), "file", error))
        except OSError as exc:
            error = f"cannot read: {exc.strerror or exc}"
            report.rejected.append((str(path), "file", error))
        if progress:
            progress(index, len(files), path, report.total_created - before, error)
    return report
