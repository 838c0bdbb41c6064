"""Importing FHIR data from files: Bundles (.json), single resources and NDJSON.

One file is one unit: a transaction Bundle goes in whole or not at all, and a bad file is
reported and skipped while the import carries on with the next. NDJSON (bulk export
format, one resource per line) is checked line by line; bad lines are rejected with their
line number and the good ones are written in transactions of `chunk_size` resources.

With `workers` > 1 the files are shared out among that many forked processes, each with
its own database connection; each file is still one transaction (per chunk for NDJSON),
and the per-file reports are added up in the calling process as files finish.
"""

import multiprocessing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connections

from .bundles import run_bundle
from .errors import FhirError
from .validation import parse_json, resource_types, validate_resource

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

    def add(self, other):
        """Add another report's counts (a file imported in a worker process) to this one."""
        self.files += other.files
        self.created.update(other.created)
        self.updated.update(other.updated)
        self.unchanged.update(other.unchanged)
        self.rejected.extend(other.rejected)


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


def _run(bundle, requester, base, validated=False):
    _kind, entries = run_bundle(bundle, requester, base, validated=validated)
    return entries


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
    kinds = _kinds(bundle)
    before = len(report.rejected)
    _tally(report, _run(bundle, requester, base), kinds)
    for i in range(before, len(report.rejected)):
        report.rejected[i] = (str(path), *report.rejected[i][1:])


def import_ndjson_file(path, report, requester, base, chunk_size=1000):
    chunk = []

    def flush():
        if chunk:
            bundle = _as_transaction(chunk)
            # Every line was validated as it was read; the Bundle does not do it again.
            entries = _retrying(lambda: _run(bundle, requester, base, validated=True))
            _tally(report, entries, _kinds(bundle))
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


def _import_json_retrying(path, report, requester, base):
    return _retrying(lambda: import_json_file(path, report, requester, base))


def import_file(path, requester, base="urn:import", chunk_size=1000):
    """Import one file; returns (its report, the error that rejected the whole file or None)."""
    report = ImportReport(files=1)
    path = Path(path)
    try:
        if path.suffix == ".ndjson":
            import_ndjson_file(path, report, requester, base, chunk_size)
        else:
            _import_json_retrying(path, report, requester, base)
        return report, None
    except FhirError as exc:
        error = "; ".join(i.get("diagnostics", "") for i in exc.issues)
    except OSError as exc:
        error = f"cannot read: {exc.strerror or exc}"
    except DatabaseError as exc:
        # The file's transaction was rolled back; say so and go on with the next file.
        error = f"database error: {exc}".strip()
    report.rejected.append((str(path), "file", error))
    return report, error


def import_files(paths, requester, base="urn:import", progress=None, chunk_size=1000, workers=1):
    """Import every file; a failing file is recorded in the report and the rest go on.

    `progress(index, total, path, created, error)` is called in this process as each file
    finishes (in the order they finish when `workers` > 1).
    """
    report = ImportReport()
    files = find_files(paths)
    if workers > 1 and len(files) > 1:
        results = _in_workers(files, requester, base, chunk_size, workers)
    else:
        results = ((path, *import_file(path, requester, base, chunk_size)) for path in files)
    for index, (path, part, error) in enumerate(results, start=1):
        report.add(part)
        if progress:
            progress(index, len(files), path, part.total_created, error)
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


def _start_worker(requester, base, chunk_size):
    global _worker_args
    # The parent closed its connections before forking; forget any that is left without
    # closing it, since closing would end the parent's session on the shared socket.
    for conn in connections.all(initialized_only=True):
        conn.connection = None
    _worker_args = (requester, base, chunk_size)


def _import_in_worker(path):
    try:
        return (path, *import_file(path, *_worker_args))
    finally:
        # A fresh connection per file: nothing stays open when the pool winds down.
        connections.close_all()


def _in_workers(files, requester, base, chunk_size, workers):
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
        initargs=(requester, base, chunk_size),
    )
    try:
        yield from pool.imap_unordered(_import_in_worker, files, chunksize=1)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
