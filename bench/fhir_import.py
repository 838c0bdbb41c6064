"""Import benchmark: Synthea-like patient Bundles into the FHIR store, as `import_fhir` does.

Writes one transaction Bundle per patient to files, then measures resources per second
through `health.fhir.importer.import_files` (the code path of `manage.py import_fhir`:
reading and parsing each file, validation, reference resolution, current + history rows,
search index, audit, one transaction per file): first with one process for `--single`
patients, then with `--workers` processes for the rest. Also the same JSON read from the
same files and inserted plainly into one table (the floor any store pays), and the ratios.
Not a test: run it by hand against a database of its own, e.g.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python manage.py migrate
    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python bench/fhir_import.py --patients 140 --encounters 250

Results go in docs/benchmarks.md.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from bench.fhir_synthea import patient_bundle  # noqa: E402
from health.fhir.access import system_requester  # noqa: E402
from health.fhir.bundles import parse_bundle  # noqa: E402
from health.fhir.importer import import_files  # noqa: E402
from health.fhir.models import Resource  # noqa: E402
from health.fhir.store import analyze_tables  # noqa: E402
from health.fhir.validation import resource_types  # noqa: E402

PLAIN_TABLE = "bench_fhir_plain"


def write_files(folder, seeds, encounters):
    """One patient Bundle per file, as an export would hand them over; returns entries."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for seed in seeds:
        bundle = patient_bundle(seed, encounters)
        total += len(bundle["entry"])
        (folder / f"patient-{seed}.json").write_text(json.dumps(bundle))
    return total


def plain_insert(files):
    """Read each file and insert every entry's resource JSON into one two-column table,
    a transaction per file."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {PLAIN_TABLE} (id bigserial primary key, body text)")
        else:
            cursor.execute(
                f"CREATE TABLE {PLAIN_TABLE} (id integer primary key autoincrement, body text)"
            )
    count = 0
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        bundle = json.loads(path.read_bytes())
        rows = [(json.dumps(e["resource"]),) for e in bundle["entry"]]
        with transaction.atomic(), connection.cursor() as cursor:
            for i in range(0, len(rows), 500):
                cursor.executemany(
                    f"INSERT INTO {PLAIN_TABLE} (body) VALUES (%s)", rows[i : i + 500]
                )
        count += len(rows)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PLAIN_TABLE}")
    return count, elapsed, cpu


def store_import(files, workers):
    """Import the files like `import_fhir --workers N`; returns (resources, seconds, CPU
    seconds of this process: the importer's own work when `workers` is 1)."""
    requester = system_requester("bench")
    started, cpu = time.perf_counter(), time.process_time()
    report = import_files(files, requester, "http://bench/fhir", workers=workers)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if report.rejected:
        print(f"  REJECTED: {report.rejected[:3]}")
    return report, elapsed, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--encounters", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--single", type=int, default=30, help="patients imported by one process first"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the rest")
    args = parser.parse_args()

    print(f"database: {connection.vendor}, existing resources: {Resource.objects.count()}")
    print(f"load average before: {os.getloadavg()}")
    folder = Path(settings.BASE_DIR) / "var" / "bench-fhir-import"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    seeds = [args.seed * 1_000_000 + i for i in range(args.patients)]
    single = min(args.single, args.patients)
    total = write_files(folder / "single", seeds[:single], args.encounters)
    total += write_files(folder / "workers", seeds[single:], args.encounters)
    files = sorted(folder.rglob("*.json"))
    elapsed = time.perf_counter() - started
    print(f"wrote {args.patients} bundles, {total} entries in {elapsed:.1f}s")

    plain_count, plain_time, plain_cpu = plain_insert(files)
    plain_rate = plain_count / plain_time
    print(
        f"plain inserts: {plain_count} rows in {plain_time:.1f}s = {plain_rate:.0f} rows/s"
        f" ({plain_cpu / plain_count * 1e6:.0f} µs of this process's CPU per row)"
    )

    # A server process is long-lived: load the R4B models and build the validators once.
    resource_types()
    parse_bundle(patient_bundle(0, 2))

    for label, part, workers in (
        ("1 process", sorted((folder / "single").glob("*.json")), 1),
        (f"{args.workers} workers", sorted((folder / "workers").glob("*.json")), args.workers),
    ):
        if not part:
            continue
        before = Resource.objects.count()
        report, elapsed, cpu = store_import(part, workers)
        # The rate counts the rows the database gained, not what the import said it loaded
        # (entries that matched an existing resource through ifNoneExist add none).
        after = Resource.objects.count()
        count = after - before
        if report.total_created != count:
            print(f"  MISMATCH: the import reported {report.total_created} created")
        rate = count / elapsed
        # CPU time depends far less on how busy the machine is than the time it took.
        own_cpu = f"; {cpu / count * 1e6:.0f} µs of CPU per resource" if workers == 1 else ""
        print(
            f"FHIR store, {label}: {count} resources in {elapsed:.1f}s = {rate:.0f} resources/s"
            f" (store {before} -> {after}); ratio store/plain {rate / plain_rate:.2f}"
            f" (plain is {plain_rate / rate:.1f}x faster){own_cpu}; load average"
            f" {os.getloadavg()}"
        )
    analyze_tables()  # as import_fhir does after a load
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
