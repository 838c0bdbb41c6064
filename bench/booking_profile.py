"""Where a booking attempt spends its time, in-process: the queries of one booking and of one
"full" answer, the CPU per attempt of each kind (no profiler), then a cProfile of --attempts
attempts through the whole middleware stack (Django's test client with CSRF checks, DEBUG off,
a session cookie per resident as bench/booking_load.py seeds them). Not a test.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/booking_profile.py
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "false")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.booking_load import _classify, seed  # noqa: E402

CLIENT = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)


class Statements(list):
    """The SQL run inside the block (a connection wrapper: works with DEBUG off)."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)


def attempt(slot_id, session):
    """One booking attempt: the resident's cookies on one client (one handler, as a server
    worker keeps its middleware loaded)."""
    session_key, token = session
    client = CLIENT
    client.cookies.clear()
    client.cookies["sessionid"] = session_key
    client.cookies["csrftoken"] = token
    client.cookies["portal_language"] = "en"
    response = client.post(
        f"/clinics/slot/{slot_id}/book/", {"person": "self", "csrfmiddlewaretoken": token}
    )
    return _classify(response.status_code, response.get("Location", ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--wall", action="store_true", help="profile wall time (waits included), not CPU time"
    )
    parser.add_argument("--dump", help="also write the profile to this file (for pstats)")
    args = parser.parse_args()
    if settings.DEBUG:
        sys.exit("Run with DEBUG=false (as the server does).")

    call_command("collectstatic", interactive=False, verbosity=0)
    # Slots of capacity 3, each asked for 10 times: 3 bookings and 7 "full" answers, as in
    # bench/booking_load.py; plus two slots and a few residents for the warm-up and the queries.
    slots = args.attempts // 10
    slot_ids, sessions, warm_slots, warm_sessions = seed(slots, 3, args.attempts, 20)
    for session in warm_sessions[:10]:
        assert attempt(warm_slots[0], session) == "booked"
    with Statements() as booked_queries:
        assert attempt(warm_slots[0], warm_sessions[10]) == "booked"
    attempt(warm_slots[1], warm_sessions[11])
    with Statements() as full_queries:
        assert attempt(warm_slots[1], warm_sessions[12]) == "full"
    for name, captured in (("a booking", booked_queries), ('a "full" answer', full_queries)):
        print(f"{name}: {len(captured)} statements")
        for sql in captured:
            print(f"  {sql[:150]}")

    # Half the slots for the timing, half for the profile: 3 bookings and 7 "full" each.
    first, second = slot_ids[: slots // 2], slot_ids[slots // 2 :]
    half = len(sessions) // 2
    timed = [(first[i % len(first)], s) for i, s in enumerate(sessions[:half])]
    profiled = [(second[i % len(second)], s) for i, s in enumerate(sessions[half:])]
    cpu, wall = {"booked": [], "full": []}, {"booked": [], "full": []}
    for slot_id, session in timed:
        started, started_wall = time.process_time(), time.perf_counter()
        outcome = attempt(slot_id, session)
        cpu.setdefault(outcome, []).append(time.process_time() - started)
        wall.setdefault(outcome, []).append(time.perf_counter() - started_wall)
    for outcome, times in cpu.items():
        if times:
            print(
                f"{outcome}: {len(times)} attempts, CPU {sum(times) / len(times) * 1000:.2f} ms "
                "each (this process: Django, drivers; PostgreSQL and Redis not included), "
                f"wall {statistics.median(wall[outcome]) * 1000:.2f} ms (median)"
            )
    # CPU time unless --wall: waits on PostgreSQL and Redis are not this process's work.
    profile = cProfile.Profile(time.perf_counter if args.wall else time.process_time)
    profile.enable()
    outcomes = [attempt(slot_id, session) for slot_id, session in profiled]
    profile.disable()
    print({o: outcomes.count(o) for o in set(outcomes)})
    if args.dump:
        profile.dump_stats(args.dump)
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
