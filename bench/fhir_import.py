"""Import benchmark: Synthea-like patient Bundles into the FHIR store.

Measures resources per second for whole-patient transaction Bundles (validation, reference
resolution, current + history rows, search index, audit), and the same JSON inserted plainly
into one table (the floor any store pays), and prints the ratio. Not a test: run it by hand
against a database of its own, e.g.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python manage.py migrate
    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python bench/fhir_import.py --patients 100 --encounters 250

Results go in docs/benchmarks.md.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.fhir_synthea import patient_bundle  # noqa: E402
from health.fhir.access import system_requester  # noqa: E402
from health.fhir.bundles import process_bundle  # noqa: E402
from health.fhir.models import Resource  # noqa: E402
from health.fhir.store import analyze_tables  # noqa: E402
from health.records.audit import AuditTrail  # noqa: E402

PLAIN_TABLE = "bench_fhir_plain"


def plain_insert(bundles):
    """Insert every entry's resource JSON into one two-column table, a transaction per bundle."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {PLAIN_TABLE} (id bigserial primary key, body text)")
        else:
            cursor.execute(
                f"CREATE TABLE {PLAIN_TABLE} (id integer primary key autoincrement, body text)"
            )
    count = 0
    started = time.perf_counter()
    for bundle in bundles:
        rows = [(json.dumps(e["resource"]),) for e in bundle["entry"]]
        with transaction.atomic(), connection.cursor() as cursor:
            for i in range(0, len(rows), 500):
                cursor.executemany(
                    f"INSERT INTO {PLAIN_TABLE} (body) VALUES (%s)", rows[i : i + 500]
                )
        count += len(rows)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PLAIN_TABLE}")
    return count, elapsed


def _warm_up(requester):
    # A server process is long-lived: build the pydantic validators once before timing.
    with transaction.atomic():
        process_bundle(patient_bundle(0, 2), requester, "http://bench/fhir", AuditTrail(requester))
        transaction.set_rollback(True)


def _worker(seeds, encounters, barrier, results):
    """One importing process (like one gunicorn worker taking Bundle POSTs)."""
    connection.close()  # never share the parent's connection across fork
    requester = system_requester("bench")
    _warm_up(requester)
    bundles = [patient_bundle(seed, encounters) for seed in seeds]
    barrier.wait()
    count = 0
    for bundle in bundles:
        process_bundle(bundle, requester, "http://bench/fhir", AuditTrail(requester))
        count += len(bundle["entry"])
    results.put(count)
    connection.close()


def store_import(seeds, encounters, workers):
    """Import the patients with `workers` processes; returns (resources, wall seconds)."""
    barrier = multiprocessing.Barrier(workers + 1)
    results = multiprocessing.Queue()
    connection.close()
    processes = [
        multiprocessing.Process(
            target=_worker, args=(seeds[i::workers], encounters, barrier, results)
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    count = sum(results.get() for _ in processes)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    analyze_tables()  # as import_fhir does after a load
    return count, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--encounters", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="importing processes")
    args = parser.parse_args()

    print(f"database: {connection.vendor}, existing resources: {Resource.objects.count()}")
    started = time.perf_counter()
    seeds = [args.seed * 1_000_000 + i for i in range(args.patients)]
    bundles = [patient_bundle(seed, args.encounters) for seed in seeds]
    total = sum(len(b["entry"]) for b in bundles)
    elapsed = time.perf_counter() - started
    print(f"generated {args.patients} bundles, {total} entries in {elapsed:.1f}s")

    plain_count, plain_time = plain_insert(bundles)
    plain_rate = plain_count / plain_time
    print(f"plain inserts: {plain_count} rows in {plain_time:.1f}s = {plain_rate:.0f} rows/s")

    del bundles
    count, elapsed = store_import(seeds, args.encounters, args.workers)
    rate = count / elapsed
    print(
        f"FHIR store:    {count} resources in {elapsed:.1f}s = {rate:.0f} resources/s "
        f"({args.workers} processes)"
    )
    print(f"ratio store/plain: {rate / plain_rate:.2f} (plain is {plain_rate / rate:.1f}x faster)")


if __name__ == "__main__":
    main()
