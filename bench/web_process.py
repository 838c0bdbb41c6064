"""A fresh web process's first requests: what it pays before it is warm, and what Python's
garbage collector costs it. Not a test; results go in docs/benchmarks.md.

Seeds booking data as bench/booking_load.py does, then, in the same process (Django is set up
by then, and the seeding's objects are alive), loads the WSGI application as gunicorn does
(portal/wsgi.py: the FHIR warm-up, each language's catalogues and URL maps, the loaded objects
frozen; --plain loads Django's bare WSGI handler and the FHIR warm-up only, as before
portal/warmup.py), then sends --attempts booking attempts (3 bookings and 7 "full" answers per
slot, in random order) through bench/booking_profile.py's attempt() (Django's test client, one
handler). Prints the first attempts' CPU, the mean CPU per hundred, every garbage collection
during the attempts (and the first request before them): how many of each generation, the
longest pause; then the cost of one full collection at the end, over the objects the collector
tracks (those not frozen).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/web_process.py
"""

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DEBUG", "false")

from django.db import connections  # noqa: E402

from bench.booking_load import seed  # noqa: E402
from bench.booking_profile import CLIENT, attempt  # noqa: E402


class Collections:
    """Every collection's generation and pause, from gc.callbacks."""

    def __init__(self):
        self.pauses = defaultdict(list)
        self._started = None
        gc.callbacks.append(self)

    def __call__(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="load Django's WSGI handler and the FHIR warm-up only, not portal/warmup.py",
    )
    args = parser.parse_args()

    slots, sessions, _warm_slots, _warm_sessions = seed(args.attempts // 10, 3, args.attempts)
    connections.close_all()  # as a fresh worker: its own connection, opened by a request
    started = time.process_time()
    if args.plain:
        from django.core.wsgi import get_wsgi_application

        from health.fhir.capability import warm_up

        get_wsgi_application()
        warm_up()
    else:
        import portal.wsgi  # noqa: F401
    print(
        f"loading the application ({'plain' if args.plain else 'portal/wsgi.py'}): "
        f"{(time.process_time() - started) * 1000:.0f} ms of CPU; objects frozen "
        f"{gc.get_freeze_count()}, tracked {len(gc.get_objects())}"
    )

    collections = Collections()
    before = time.process_time()
    CLIENT.get("/favicon.ico")  # the test client loads the middleware here, a worker at start
    print(f"first request (a redirect): {(time.process_time() - before) * 1000:.1f} ms of CPU")
    targets = [slots[i % len(slots)] for i in range(args.attempts)]
    random.shuffle(targets)
    cpu, outcomes = [], []
    for slot_id, session in zip(targets, sessions, strict=True):
        before = time.process_time()
        outcomes.append(attempt(slot_id, session))
        cpu.append((time.process_time() - before) * 1000)
    gc.callbacks.remove(collections)

    print("first attempts, CPU ms: " + ", ".join(f"{t:.1f}" for t in cpu[:5]))
    for start in range(0, len(cpu), 100):
        window = list(zip(outcomes[start : start + 100], cpu[start : start + 100], strict=True))
        booked = [t for o, t in window if o == "booked"]
        full = [t for o, t in window if o == "full"]
        print(
            f"  attempts {start + 1}–{start + len(window)}: "
            f"{len(booked)} booked, {statistics.mean(booked) if booked else 0:.2f} ms each; "
            f"{len(full)} full, {statistics.mean(full) if full else 0:.2f} ms each; "
            f"longest {max(t for _o, t in window):.1f} ms"
        )
    for generation in sorted(collections.pauses):
        pauses = collections.pauses[generation]
        print(
            f"generation {generation} collections: {len(pauses)}, "
            f"{sum(pauses) * 1000:.1f} ms in all, longest {max(pauses) * 1000:.1f} ms"
        )
    booked = [t for o, t in zip(outcomes, cpu, strict=True) if o == "booked"]
    full = [t for o, t in zip(outcomes, cpu, strict=True) if o == "full"]
    print(
        f"all attempts: booked {statistics.mean(booked):.2f} ms each, "
        f"full {statistics.mean(full):.2f} ms each (CPU, mean)"
    )
    # When the next full collection comes depends on how much survived since the last one;
    # what it will cost does not: time one now.
    tracked = len(gc.get_objects())
    before = time.perf_counter()
    gc.collect()
    print(
        f"a full collection now: {(time.perf_counter() - before) * 1000:.1f} ms over the "
        f"{tracked} objects the collector tracks"
    )
    errors = [o for o in outcomes if o not in ("booked", "full")]
    print(f"booked {outcomes.count('booked')}, full {outcomes.count('full')}, other {errors[:3]}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
