"""Peak worker memory for the largest batch the budgets allow (issue 11).

Each case runs in a fresh process (one process = one worker's life), which answers one
request through the whole HTTP stack (Django's test client, a bearer token) and reports the
process's peak resident memory (ru_maxrss) before and after it:

- a batch of --entries search entries (default 5,000), each asking `_count=1000` of the busy
  patient's Observations with every include: the request that grew a worker to 20 GB before;
  now each entry gets FHIR_BUNDLE_ENTRY_COUNT matches and the whole response stops at
  FHIR_BUNDLE_MAX_RESPONSE_BYTES (a 413);
- `Patient/X/$everything?_count=10000` (FHIR_EVERYTHING_MAX_COUNT) on the busy patient.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_fhir_bench \\
        .venv/bin/python bench/fhir_budget.py

The busy patient is bench/fhir_search.py's (imported on first use).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case, entries):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from bench.fhir_search import busy_patient
    from health.fhir.access import issue_token

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    patient = busy_patient(100)
    _token, text = issue_token("bench", "system/*.cruds")
    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {text}", HTTP_ACCEPT="application/fhir+json", HTTP_HOST=HOST
    )
    client.get("/fhir/metadata")  # load the URLconf and the models before measuring
    before = peak_mib()
    started = time.perf_counter()
    if case == "batch":
        url = (
            f"Observation?patient={patient}&_count=1000"
            "&_include=Observation:encounter&_include=Observation:performer"
        )
        body = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": url}} for _ in range(entries)],
        }
        response = client.post("/fhir/", json.dumps(body), content_type="application/fhir+json")
    else:
        response = client.get(f"/fhir/Patient/{patient}/$everything", {"_count": "10000"})
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "case": case,
                "status": response.status_code,
                "bytes": len(response.content),
                "seconds": round(seconds, 2),
                "peak_before_mib": round(before, 1),
                "peak_after_mib": round(peak_mib(), 1),
            }
        )
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--case", choices=["batch", "everything"])
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.entries)
        return
    for case in ("batch", "everything"):
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--entries", str(args.entries)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
