"""Importing FHIR data from files: Bundles (.json), single resources and NDJSON.

One file is one unit: a transaction Bundle goes in whole or not at all, and a bad file
(unreadable, not JSON, nested too deep, anything) is reported and skipped while the import
carries on with the next. NDJSON (bulk export format, one resource per line) is checked line
by line; bad lines are rejected with their line number and the good ones are written in
transactions of `chunk_size` resources.

A bulk-export folder loads in one run: NDJSON files go in dependency order (Organizations,
Practitioners and Patients before the records that refer to them, so conditional references
resolve), and the ids every NDJSON line carries are read first, so a reference to a resource
a later file (or a later chunk) holds is accepted; at the end of the run the import reports
any such resource that was not loaded after all.

With `workers` > 1 the files are shared out among that many forked processes, each with
its own database connection; each file is still one transaction (per chunk for NDJSON),
and the per-file reports are added up in the calling process as files finish.
"""

import json
import logging
import multiprocessing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connections

from .bundles import Budget, parse_bundle, run_parsed
from .errors import FhirError
from .models import Resource
from .validation import parse_json, resource_types, validate_resource

logger = logging.getLogger(__name__)

SUFFIXES = (".json", ".ndjson")
# The order NDJSON files of these types are loaded in: what others refer to comes first.
DEPENDENCY_ORDER = [
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Medication",
    "Substance",
    "Device",
    "Patient",
    "RelatedPerson",
    "Group",
    "Coverage",
    "Account",
    "EpisodeOfCare",
    "Encounter",
    "Condition",
    "Procedure",
    "AllergyIntolerance",
    "Immunization",
    "Observation",
    "DiagnosticReport",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationStatement",
    "CareTeam",
    "Goal",
    "CarePlan",
    "ImagingStudy",
    "DocumentReference",
    "Claim",
    "ExplanationOfBenefit",
    "Provenance",
]
_RANK = {name: rank for rank, name in enumerate(DEPENDENCY_ORDER)}


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

    def add(self, other):
        """Add another report's counts (a file imported in a worker process) to this one."""
        self.files += other.files
        self.created.update(other.created)
        self.updated.update(other.updated)
        self.unchanged.update(other.unchanged)
        self.rejected.extend(other.rejected)


def _first_type(path):
    """The resourceType of an NDJSON file's first line ('' when unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    return json.loads(line).get("resourceType", "") or ""
    except (OSError, ValueError, RecursionError, AttributeError):
        return ""
    return ""


def _load_order(path):
    """NDJSON files by the dependency rank of their type, then JSON files, by name."""
    if path.suffix == ".ndjson":
        return (0, _RANK.get(_first_type(path), len(_RANK)), str(path))
    return (1, 0, str(path))


def find_files(paths):
    """Every importable file under the given files and folders, in the order they load."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(
                (p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES),
                key=_load_order,
            )
        else:
            out.append(path)
    return out


def announced_ids(files):
    """`Type/id` of every resource the NDJSON files carry (read ahead of the import, so
    references between files and chunks resolve whatever their order)."""
    known = set()
    for path in files:
        if path.suffix != ".ndjson":
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        data = json.loads(line) if line.strip() else None
                    except (ValueError, RecursionError):
                        continue
                    if isinstance(data, dict) and isinstance(data.get("id"), str):
                        known.add(f"{data.get('resourceType')}/{data['id']}")
        except OSError:
            continue
    return frozenset(known)


def _not_loaded(known):
    """The announced resources that are not in the store after the run."""
    by_type = {}
    for key in known:
        rtype, _, rid = key.partition("/")
        by_type.setdefault(rtype, []).append(rid)
    missing = []
    for rtype, ids in sorted(by_type.items()):
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found = set(
                Resource.objects.filter(
                    resource_type=rtype, resource_id__in=chunk, deleted=False
                ).values_list("resource_id", flat=True)
            )
            missing += [f"{rtype}/{rid}" for rid in chunk if rid not in found]
    return missing


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


def _tally(report, entries, kinds):
    """Count the entries' outcomes (straight from the processed entries: no response
    Bundle is written out and parsed back for this)."""
    for entry, (rtype, method) in zip(entries, kinds, strict=False):
        status = entry.response.get("status", "")
        if status.startswith("201"):
            report.created[rtype] += 1
        elif status.startswith("200"):
            (report.updated if method == "PUT" else report.unchanged)[rtype] += 1
        elif status.startswith("204"):
            pass
        else:
            outcome = entry.response.get("outcome") or {}
            reason = (outcome.get("issue") or [{}])[0].get("diagnostics", status)
            report.rejected.append(("", rtype, reason))


@dataclass
class _Work:
    """One transaction's worth of a file, read, parsed and validated (no database work yet):
    what `parse_bundle` returned, the (type, method) of its entries, and how to get a fresh
    `parsed` for a retry (the first attempt consumes the resources: references rewritten)."""

    parsed: tuple
    kinds: list
    redo: object
    # A JSON file's rejected entries are reported under its path.
    path: str = ""


def _json_work(path):
    def parse():
        data = parse_json(Path(path).read_bytes())
        if data.get("resourceType") == "Bundle" and data.get("type") in ("transaction", "batch"):
            bundle = data
        elif data.get("resourceType") == "Bundle":
            # collection, searchset, document...: store the resources they carry.
            entries = data.get("entry") or []
            resources = [e.get("resource") for e in entries if isinstance(e, dict)]
            bundle = _as_transaction([r for r in resources if isinstance(r, dict)])
        else:
            bundle = _as_transaction([data])
        kinds = _kinds(bundle)
        return parse_bundle(bundle), kinds

    parsed, kinds = parse()
    # A retry reads the file again: the whole file is validated again, as the first time.
    return _Work(parsed, kinds, lambda: parse()[0], str(path))


def _ndjson_chunk_work(chunk):
    bundle = _as_transaction(chunk)
    # Every line was validated as it was read; the Bundle does not do it again.
    return _Work(
        parse_bundle(bundle, validated=True),
        _kinds(bundle),
        lambda: parse_bundle(bundle, validated=True),
    )


def _prepare(path, chunk_size=1000):
    """Everything importing one file does before it touches the database, in the order the
    writes need it: a `_Work` per transaction, or (where, reason) for a rejected NDJSON line.
    A failure of the whole file is raised (after the NDJSON chunks read before it)."""
    path = Path(path)
    if path.suffix != ".ndjson":
        yield _json_work(path)
        return
    chunk = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                resource = parse_json(line)
                validate_resource(resource)
            except FhirError as error:
                yield (f"line {number}", str(error))
                continue
            chunk.append(resource)
            if len(chunk) >= chunk_size:
                yield _ndjson_chunk_work(chunk)
                chunk = []
    if chunk:
        yield _ndjson_chunk_work(chunk)


def _write(work, report, requester, base, known):
    """Run one prepared transaction and count its outcome (once it has committed)."""
    first = [work.parsed]

    def run():
        kind, parts = first.pop() if first else work.redo()
        budget = Budget(limited=False)
        return run_parsed(kind, parts, requester, base, known=known, budget=budget)[1]

    before = len(report.rejected)
    _tally(report, _retrying(run), work.kinds)
    if work.path:
        for i in range(before, len(report.rejected)):
            report.rejected[i] = (work.path, *report.rejected[i][1:])


def _import_items(path, items, report, requester, base, known):
    for item in items:
        if isinstance(item, _Work):
            _write(item, report, requester, base, known)
        else:
            report.rejected.append((str(path), *item))


# A Bundle that lost a race with another writer was rolled back whole and is tried again: a
# 409 (two workers creating the same clinic Organization with ifNoneExist), or PostgreSQL
# ending one of two transactions that waited for each other (deadlock, serialization).
CONFLICT_RETRIES = 2
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def _lost_a_race(exc):
    if isinstance(exc, FhirError):
        return exc.status == 409
    return getattr(exc.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def _retrying(run):
    """Call `run` (one transaction, which changes the report only once it has committed)
    again when it lost a race with another writer."""
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            return run()
        except (FhirError, DatabaseError) as exc:
            if attempt == CONFLICT_RETRIES or not _lost_a_race(exc):
                raise


def import_file(path, requester, base="urn:import", chunk_size=1000, known=frozenset()):
    """Import one file; returns (its report, the error that rejected the whole file or None)."""
    report = ImportReport(files=1)
    path = Path(path)
    try:
        _import_items(path, _prepare(path, chunk_size), report, requester, base, known)
        return report, None
    except FhirError as exc:
        error = "; ".join(i.get("diagnostics", "") for i in exc.issues)
    except OSError as exc:
        error = f"cannot read: {exc.strerror or exc}"
    except DatabaseError as exc:
        # The file's transaction was rolled back; say so and go on with the next file.
        error = f"database error: {exc}".strip()
    except UnicodeDecodeError:
        error = "not UTF-8 text"
    except RecursionError:
        error = "nested too deeply"
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the others
        logger.exception("Import of %s failed", path)
        error = f"could not be imported ({type(exc).__name__})"
    report.rejected.append((str(path), "file", error))
    return report, error


def import_files(paths, requester, base="urn:import", progress=None, chunk_size=1000, workers=1):
    """Import every file; a failing file is recorded in the report and the rest go on.

    `progress(index, total, path, created, error)` is called in this process as each file
    finishes (in the order they finish when `workers` > 1).
    """
    report = ImportReport()
    files = find_files(paths)
    known = announced_ids(files)
    if workers > 1 and len(files) > 1:
        results = _in_workers(files, requester, base, chunk_size, workers, known)
    else:
        results = ((path, *import_file(path, requester, base, chunk_size, known)) for path in files)
    for index, (path, part, error) in enumerate(results, start=1):
        report.add(part)
        if progress:
            progress(index, len(files), path, part.total_created, error)
    for key in _not_loaded(known):
        report.rejected.append(
            ("", key, "announced in the files but not loaded; references to it do not resolve")
        )
    return report


def check_parallel():
    """Raise ValueError when this database and process cannot import with several workers."""
    for conn in connections.all(initialized_only=True):
        if conn.vendor == "sqlite":
            raise ValueError("SQLite takes one writer at a time")
        if conn.in_atomic_block:
            raise ValueError("workers cannot see or join an open transaction")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError("this platform cannot fork worker processes")


# Set in each worker process by _start_worker (inherited through fork, never pickled).
_worker_args = None


def _start_worker(requester, base, chunk_size, known):
    global _worker_args
    # The parent closed its connections before forking; forget any that is left without
    # closing it, since closing would end the parent's session on the shared socket.
    for conn in connections.all(initialized_only=True):
        conn.connection = None
    _worker_args = (requester, base, chunk_size, known)


def _import_in_worker(path):
    try:
        return (path, *import_file(path, *_worker_args))
    finally:
        # A fresh connection per file: nothing stays open when the pool winds down.
        connections.close_all()


def _in_workers(files, requester, base, chunk_size, workers, known):
    check_parallel()
    # Load every R4B model class once here (seconds of imports), so the forked workers
    # inherit them instead of each paying for it.
    resource_types()
    # Children must not inherit an open connection (one socket, two processes).
    connections.close_all()
    context = multiprocessing.get_context("fork")
    pool = context.Pool(
        min(workers, len(files)),
        initializer=_start_worker,
        initargs=(requester, base, chunk_size, known),
    )
    try:
        yield from pool.imap_unordered(_import_in_worker, files, chunksize=1)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
