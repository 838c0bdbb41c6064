"""Search benchmark: a busy patient in a big store, through the whole HTTP stack.

Loads one patient with about 5,000 resources (unless one is there already), checks that the
store holds at least --min-store resources (load more with bench/fhir_import.py), then times
through Django's test client with a bearer token, so authentication, access rules, the
query, JSON assembly and the audit insert are all counted:

- Observation?patient=X&code=Y&_sort=-date&_count=50
- Patient/X/$everything, the whole compartment in one response
- My page and the full record page for a resident linked to X: p95 and query count

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python bench/fhir_search.py --runs 200
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.fhir_synthea import patient_bundle  # noqa: E402
from health.fhir.access import issue_token, system_requester  # noqa: E402
from health.fhir.bundles import process_bundle  # noqa: E402
from health.fhir.models import Resource  # noqa: E402
from health.fhir.store import analyze_tables  # noqa: E402

BIG_SEED = 424242
HOST = "127.0.0.1"


def busy_patient(encounters):
    """The id of the benchmark's busy patient, importing it on first use."""
    marker = f"P{BIG_SEED:07d}"
    row = next(
        (r for r in Resource.objects.filter(resource_type="Patient", body__contains=marker)[:1]),
        None,
    )
    if row is not None:
        return row.resource_id
    requester = system_requester("bench")
    bundle = patient_bundle(BIG_SEED, encounters)
    response = json.loads(process_bundle(bundle, requester, "http://bench/fhir"))
    analyze_tables()
    return response["entry"][2]["response"]["location"].split("/")[1]


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(label, runs, call):
    call()  # warm up caches and validators
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    print(
        f"{label}: p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms"
        f" ({runs} runs)"
    )
    return samples


def query_count(call):
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--encounters", type=int, default=350, help="~14 resources each")
    parser.add_argument("--min-store", type=int, default=500_000)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST, "testserver"]

    pid = busy_patient(args.encounters)
    store_size = Resource.objects.count()
    compartment = Resource.objects.filter(patient_id=pid).count()
    print(f"store: {store_size} resources; patient {pid}: {compartment} in its compartment")
    if store_size < args.min_store:
        print(f"WARNING: store smaller than {args.min_store}; load more with bench/fhir_import.py")

    _token, secret = issue_token("bench", "user/*.rs")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT="application/fhir+json")
    search_url = (
        f"/fhir/Observation?patient={pid}&code=http://loinc.org|8867-4&_sort=-date&_count=50"
    )
    first = json.loads(client.get(search_url).content)
    print(f"search matches: {first['total']}, page: {len(first.get('entry', []))}")
    timed("Observation search", args.runs, lambda: client.get(search_url))
    print(f"  queries per search: {query_count(lambda: client.get(search_url))}")
    everything_url = f"/fhir/Patient/{pid}/$everything?_count=10000"
    everything = json.loads(client.get(everything_url).content)
    print(f"$everything entries: {len(everything['entry'])}")
    timed("$everything", max(10, args.runs // 10), lambda: client.get(everything_url))

    from health.fhir.models import PatientLink
    from tests.factories import UserFactory

    user = UserFactory(username=f"bench-resident-{pid[:8]}")
    PatientLink.objects.get_or_create(user=user, patient_id=pid)
    resident = Client()
    resident.force_login(user)
    for label, url in (
        ("My page", "/me/"),
        ("record summary", "/health/"),
        ("results", "/health/results/"),
    ):
        queries = query_count(lambda u=url: resident.get(u))
        timed(
            f"{label} ({queries} queries)", max(20, args.runs // 5), lambda u=url: resident.get(u)
        )


if __name__ == "__main__":
    main()
