"""Realtime snapshot and next departures on a large feed.

Run after bench/transit_import.py has imported the generated feed as `bench` into a database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_transit_bench \
        .venv/bin/python bench/transit_realtime_departures.py
    PORTAL_VAR_DIR=/tmp/transit-sqlite-XXXX .venv/bin/python bench/transit_realtime_departures.py

1. A GTFS-realtime message of 3,000 trip updates (trips running at the benchmark time, each
   with a prediction for every stop still ahead) is serialised, then parsed and stored as the
   snapshot (resolved against the timetable, one transaction): the time of parse + store.
2. Next departures at the busiest stop (most stop times) with that realtime applied, computed
   as the stop page and the API do (`departures.board`), N times: p50 / p95 / max, queries.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "false" if os.environ.get("DATABASE_URL") else "true")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuv")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from transit import realtime  # noqa: E402
from transit.departures import board  # noqa: E402
from transit.gtfs_writer import add_trip_update, realtime_message  # noqa: E402
from transit.models import Feed, Stop, StopTime, Trip  # noqa: E402
from transit.timetable import scheduled_calls  # noqa: E402

HK = zoneinfo.ZoneInfo("Asia/Hong_Kong")


def busiest_stop(version):
    st, trip = StopTime._meta.db_table, Trip._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT st.stop_id, COUNT(*) FROM {st} st JOIN {trip} t ON t.id = st.trip_id "
            f"WHERE t.version_id = %s AND st.version_id = %s "
            f"GROUP BY st.stop_id ORDER BY 2 DESC LIMIT 1",
            [version.pk, version.pk],
        )
        pk, count = cursor.fetchone()
    return Stop.objects.get(pk=pk), count


def running_trips(version, now, wanted, busiest):
    """Trips calling in the half hour around `now`: first those at the busiest stop, then at
    the other stops, until `wanted` trips are found."""
    others = Stop.objects.filter(version=version).exclude(pk=busiest.pk)
    stops = [busiest.pk, *others.values_list("pk", flat=True)[:1500]]
    calls = scheduled_calls(
        version, stops, now - dt.timedelta(minutes=15), now + dt.timedelta(minutes=15)
    )
    calls.sort(key=lambda c: (c.stop_pk != busiest.pk, c.departure_at))
    trips = {}
    for call in calls:
        if call.start_time is None and call.trip_id not in trips:
            trips[call.trip_id] = call
        if len(trips) >= wanted:
            break
    return list(trips.values())


def build_message(version, now, trips, stamp):
    message = realtime_message(stamp)
    st = StopTime._meta.db_table
    trip_table = Trip._meta.db_table
    ids = [c.trip_id for c in trips]
    sequences = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT t.trip_id, st.stop_sequence FROM {st} st JOIN {trip_table} t ON "
                f"t.id = st.trip_id WHERE t.version_id = %s AND st.version_id = %s "
                f"AND t.trip_id IN ({marks})",
                [version.pk, version.pk, *chunk],
            )
            for trip_id, seq in cursor.fetchall():
                sequences.setdefault(trip_id, []).append(seq)
    for n, call in enumerate(trips):
        ahead = sorted(s for s in sequences[call.trip_id] if s >= call.stop_sequence)
        updates = [
            {
                "stop_sequence": s,
                "arrival_delay": 60 + (n % 7) * 30,
                "departure_delay": 60 + (n % 7) * 30,
            }
            for s in ahead
        ]
        if n % 50 == 0:
            add_trip_update(
                message,
                call.trip_id,
                start_date=call.service_day.strftime("%Y%m%d"),
                cancelled=True,
            )
        else:
            add_trip_update(
                message,
                call.trip_id,
                start_date=call.service_day.strftime("%Y%m%d"),
                stops=updates,
                timestamp=stamp,
            )
    return message


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", default="bench")
    parser.add_argument("--at", default="2026-03-03T08:00", help="local time (a weekday peak)")
    parser.add_argument("--trip-updates", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument(
        "--profile", type=int, default=0, help="also profile this many boards (cProfile)"
    )
    args = parser.parse_args()
    feed = Feed.objects.select_related("live_version").get(code=args.feed)
    version = feed.live_version
    now = dt.datetime.fromisoformat(args.at).replace(tzinfo=HK)
    engine = connection.vendor
    stop, count = busiest_stop(version)
    print(f"{engine}: busiest stop {stop.stop_id} with {count:,} stop times")

    # Realtime is configured for the feed (the snapshot below is what a poll would store).
    feed.trip_updates_url = "/tmp/transit-bench-trip-updates.pb"
    feed.save(update_fields=["trip_updates_url"])
    trips = running_trips(version, now, args.trip_updates, stop)
    message = build_message(version, now, trips, now.timestamp() - 10)
    body = message.SerializeToString()
    n_stu = sum(len(e.trip_update.stop_time_update) for e in message.entity)
    timings, cpu = [], []
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        parsed, stamp = realtime.parse_message(body, now)
        stored, unmatched = realtime.store_trip_updates(feed, parsed, stamp, now)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"realtime: {len(message.entity)} trip updates ({n_stu:,} stop time updates, "
        f"{len(body) / 1e6:.1f} MB) parsed and stored in {min(timings):.2f} s best / "
        f"{statistics.median(timings):.2f} s median of 3 (this process's CPU "
        f"{min(cpu):.2f} s; {stored} stored, {unmatched} unmatched)"
    )

    board(feed, stop, at=now, now=now, limit=10)  # warm per-version caches
    samples, cpu_samples = [], []
    with CaptureQueriesContext(connection) as queries:
        board(feed, stop, at=now, now=now, limit=10)
    live = 0
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = board(feed, stop, at=now, now=now, limit=10)
        samples.append((time.perf_counter() - started) * 1000)
        cpu_samples.append((time.process_time() - started_cpu) * 1000)
        live = sum(d.status != "timetable" for d in result.departures)
    samples.sort()
    cpu_samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    cpu_p95 = cpu_samples[int(len(cpu_samples) * 0.95) - 1]
    print(
        f"departures at {stop.stop_id}: p50 {statistics.median(samples):.1f} ms, "
        f"p95 {p95:.1f} ms, max {samples[-1]:.1f} ms over {args.repeat} boards (this "
        f"process's CPU p50 {statistics.median(cpu_samples):.1f} ms, p95 {cpu_p95:.1f} ms); "
        f"{len(queries)} queries; "
        f"{live} of {len(result.departures)} shown departures live"
    )
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.profile):
            board(feed, stop, at=now, now=now, limit=10)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
