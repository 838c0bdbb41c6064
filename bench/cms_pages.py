"""The public site for anonymous visitors, from the page cache, against the ceiling.

gunicorn (--workers, default 2, sync, DEBUG off) on PostgreSQL + Redis as production runs it,
on 127.0.0.1:--port. Asks for the home page and an announcement page --requests times each
from --clients concurrent clients (closed loop), visitors not signed in and spread over the
three languages (cookie `portal_language`), with a warm page cache, and as many requests for
the ceiling (bench/common.py: a bare Django view on the same server, same run), in --rounds
rounds of page, page, ceiling so the machine's drifting load hits all three alike. Prints
requests/s and p95 of each page and their ratio to the ceiling (goal: at least 80 % of its
requests/s). Then the same with the page cache off (CMS_PAGE_CACHE_SECONDS=0,
--uncached-requests), for the record. In-process, it also prints the queries of a first and a
repeated anonymous view. Bounded: 3 × --requests, then 3 × --uncached-requests requests.
Needs the demo content (`manage.py load_demo`). Not a test; results go in docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/cms_pages.py --port 8100
"""

import argparse
import os
import random
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.booking_load import start_server  # noqa: E402  (sets up Django for PostgreSQL)
from bench.common import CEILING_PATH, CEILING_STATUS, run, summary  # noqa: E402
from cms.models import AnnouncementPage, HomePage  # noqa: E402
from cms.page_cache import HEADER  # noqa: E402

LANGUAGES = [code for code, _name in settings.LANGUAGES]
GOAL = 0.8


def pages():
    if not HomePage.objects.live().exists():
        sys.exit("Load the demo content first (manage.py load_demo).")
    announcement = AnnouncementPage.objects.live().order_by("-first_published_at").first()
    if announcement is None:
        sys.exit("No live announcement: load the demo content first (manage.py load_demo).")
    return [("home page", "/"), ("announcement page", announcement.url)]


def in_process(path):
    """Queries of a first (cold) and a repeated (cached) anonymous view."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["portal_language"] = "en"
    counts = []
    for _ in range(2):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        counts.append(len(captured))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per page, cache on")
    parser.add_argument("--uncached-requests", type=int, default=300, help="per page, cache off")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()

    call_command("collectstatic", interactive=False, verbosity=0)
    targets = pages()
    caches["pages"].clear()
    for name, path in targets:
        cold, warm = in_process(path)
        print(f"{name} ({path}) in-process: {cold} queries on a first view, {warm} when cached")
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"database: {settings.DATABASES['default']['NAME']}, gunicorn workers: {args.workers}, "
        f"{args.clients} clients closed loop, {args.requests} requests per page, "
        f"load average before: {load_before}"
    )

    def jobs(path, count):
        return [(path, f"portal_language={random.choice(LANGUAGES)}") for _ in range(count)]

    ok = True
    for cached in (True, False):
        os.environ["CMS_PAGE_CACHE_SECONDS"] = "600" if cached else "0"
        requests = args.requests if cached else args.uncached_requests
        per_round = max(1, requests // args.rounds)
        caches["pages"].clear()
        process, port = start_server(args.workers, args.port)
        targets_and_ceiling = [*targets, ("ceiling", CEILING_PATH)]
        measured = {name: ([], 0.0) for name, _path in targets_and_ceiling}
        try:
            # Warm every worker (templates, connections) and the cache in every language.
            warm = [(p, f"portal_language={code}") for _n, p in targets for code in LANGUAGES]
            run(port, warm * args.workers * 10 + [(CEILING_PATH, None)] * args.workers * 20, 4)
            # Rounds, each page then the ceiling: the machine's load drifts alike for all.
            for _round in range(args.rounds):
                for name, path in targets_and_ceiling:
                    if path == CEILING_PATH:
                        work = [(CEILING_PATH, None)] * per_round
                    else:
                        work = jobs(path, per_round)
                    results, wall = run(port, work, args.clients)
                    done, spent = measured[name]
                    measured[name] = (done + results, spent + wall)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        label = "page cache on, warm" if cached else "page cache off"
        print(f"-- {label} (load average now: {os.getloadavg()[0]:.2f})")
        ceiling = summary(f"  ceiling ({CEILING_PATH})", *measured["ceiling"], CEILING_STATUS)
        ok = ok and ceiling["ok"]
        for name, _path in targets:
            results, wall = measured[name]
            figures = summary(f"  {name}", results, wall, 200)
            hits = sum(f"{HEADER}: hit".lower() in r[2].lower() for r in results)
            ratio = figures["rate"] / ceiling["rate"]
            goal = f" (goal at least {GOAL:.0%})" if cached else ""
            print(
                f"    {ratio:.1%} of the ceiling's requests/s{goal}, p95 "
                f"{figures['p95'] / ceiling['p95']:.2f}× the ceiling's; "
                f"{hits} of {len(results)} from the cache"
            )
            ok = ok and figures["ok"] and (not cached or hits == len(results))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
