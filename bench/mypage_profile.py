"""Where a cached My page spends its time, in-process: the queries of a repeated visit and a
cProfile of --requests repeated visits through the whole middleware stack (Django's test
client, DEBUG off), for one of the residents bench/mypage_load.py seeds. With --first, a
resident's first visit instead (nothing of theirs cached; two other residents' visits before
warm what every page shares, as in bench/mypage_load.py's run): the queries of one, the CPU
time of --requests first visits of as many residents without the profiler, then with it. Not
a test.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/mypage_profile.py [--first]
"""

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.mypage_load import seed  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--first", action="store_true", help="first visits of fresh residents, not repeated ones"
    )
    args = parser.parse_args()

    call_command("collectstatic", interactive=False, verbosity=0)
    if args.first:
        first_visits(args)
        return
    _session, user = seed(2, 3)[0]
    cache.clear()
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["portal_language"] = "en"
    client.force_login(user)
    for _ in range(3):
        assert client.get("/me/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get("/me/")
    print(f"A repeated (cached) My page: {len(captured)} queries")
    for query in captured.captured_queries:
        print(f"  {query['sql'][:160]}")
    started = time.process_time()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.requests):
        client.get("/me/")
    profile.disable()
    cpu = (time.process_time() - started) / args.requests * 1000
    print(f"CPU per cached My page, profiled (profiling adds its own cost): {cpu:.1f} ms")
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


def first_visits(args):
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["portal_language"] = "en"

    def visit(session_key):
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        assert client.get("/me/").status_code == 200

    def residents():
        """Session keys of fresh residents, after two others' first visits."""
        sessions = [key for key, _user in seed(args.requests + 2, 3)]
        cache.clear()
        for key in sessions[:2]:
            visit(key)
        return sessions[2:]

    sessions = residents()
    with CaptureQueriesContext(connection) as captured:
        visit(sessions[0])
    print(f"A first (uncached) My page: {len(captured)} queries")
    for query in captured.captured_queries:
        print(f"  {query['sql'][:160]}")
    started = time.process_time()
    for key in sessions[1:]:
        visit(key)
    cpu = (time.process_time() - started) / (len(sessions) - 1) * 1000
    print(f"CPU per first visit: {cpu:.1f} ms ({len(sessions) - 1} residents)")
    sessions = residents()
    started = time.process_time()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for key in sessions:
        visit(key)
    profile.disable()
    cpu = (time.process_time() - started) / len(sessions) * 1000
    print(f"CPU per first visit, profiled (profiling adds its own cost): {cpu:.1f} ms")
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
