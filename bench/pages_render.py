"""Render time and query count of the home page and My page, in-process.

    .venv/bin/python bench/pages_render.py [--requests 300]

Runs against whatever database the environment selects (the embedded SQLite by default, or
DATABASE_URL; with it, as production does, DEBUG off, SECRET_KEY, REDIS_URL,
SECURE_SSL_REDIRECT=false and ALLOWED_HOSTS=testserver), after `manage.py migrate` and
`manage.py load_demo`. Uses Django's test client,
so it measures the application (middleware, views, templates, queries) without a web server.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def measure(client, path, n):
    client.get(path)  # warm caches and templates
    # The query log is a bounded deque; once full, CaptureQueriesContext would count nothing.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    # Count now: the next request's request_started signal empties the query log.
    query_count = len(queries)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "path": path,
        "queries": query_count,
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    setup_test_environment()
    anonymous = Client()
    resident = Client()
    user = get_user_model().objects.get(email="chan.taiman@demo.district.example")
    resident.force_login(user)
    print(f"database: {connection.vendor}; {args.requests} requests each")
    for client, path in [(anonymous, "/"), (anonymous, "/accounts/login/"), (resident, "/me/")]:
        row = measure(client, path, args.requests)
        print(
            f"{row['path']:<18} queries {row['queries']:>3}   "
            f"p50 {row['p50_ms']:6.1f} ms   p95 {row['p95_ms']:6.1f} ms"
        )


if __name__ == "__main__":
    main()
