"""Booking under load: the portal served by gunicorn on PostgreSQL, many residents booking at
once through the real booking form (session cookie, CSRF, the whole middleware stack).

In one run, each round on slots and residents of its own (--slots slots of --capacity places,
--attempts attempts spread evenly over them in random order, so every slot is asked for more
places than it has, one signed-in resident per attempt):
- --rounds closed-loop rounds from --clients clients (each sends its next attempt when the last
  is answered), each followed by its floor: as many requests again to the same URLs without
  signing in, the portal's cheapest answer through the same server, middleware and load
  generator. Booking throughput over floor throughput is the ratio; its median is reported.
- an open-loop round at --rate attempts per second, whatever the answers: p50 and p95.
After each round the database is checked: bookings made equal the places, none over capacity,
no errors. Not a test: run it by hand against a database of its own, e.g.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        .venv/bin/python manage.py migrate
    redis-cli -n 6 flushdb  # no worker takes the confirmations' tasks off the broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/booking_load.py --workers 2

Results go in docs/benchmarks.md.
"""

import argparse
import asyncio
import http.client
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database of its own (see the docstring).")
# Plain HTTP on 127.0.0.1: no HTTPS redirect, and the server must accept the host.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,  # noqa: E402
)
from django.core.management import call_command  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from health.booking.conf import horizon_days  # noqa: E402
from health.booking.models import Appointment, Clinic, Service, Slot  # noqa: E402
from portal.accounts.models import Profile  # noqa: E402

PREFIX = "bench-load"


def seed(slots, capacity, attempts, warmup=0):
    """Fresh bench data; returns (slot ids, [(session key, csrf token)] one per attempt), then
    the same for the warm-up: two more slots, one roomy and one full after its first booking,
    and `warmup` more residents."""
    User = get_user_model()
    Appointment.objects.filter(slot__clinic__code=PREFIX).delete()
    Slot.objects.filter(clinic__code=PREFIX).delete()
    Clinic.objects.filter(code=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    service, _ = Service.objects.update_or_create(
        code=PREFIX,
        defaults={"name_zh_hant": "壓測", "name_zh_hans": "压测", "name_en": "Load test"},
    )
    clinic = Clinic.objects.create(
        code=PREFIX,
        name_zh_hant="壓測診所",
        name_zh_hans="压测诊所",
        name_en="Load test clinic",
        address_zh_hant="1 Bench Road",
        latitude="22.3",
        longitude="114.17",
        phone="28000000",
    )
    clinic.services.add(service)
    first_day = timezone.localdate() + timedelta(days=1)
    rows = []
    for index in range(slots + 2):
        day = first_day + timedelta(days=index // 32)
        start = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
            hours=9, minutes=15 * (index % 32)
        )
        rows.append(
            Slot(
                clinic=clinic,
                service=service,
                start=start,
                end=start + timedelta(minutes=15),
                capacity=capacity,
            )
        )
    rows[-2].capacity, rows[-1].capacity = max(warmup, 1), 1
    slot_ids = [s.pk for s in Slot.objects.bulk_create(rows)]
    users = User.objects.bulk_create(
        [
            User(
                username=f"{PREFIX}-{i}", email=f"{PREFIX}-{i}@bench.example", password="!unusable"
            )
            for i in range(attempts + warmup)
        ]
    )
    Profile.objects.bulk_create(
        [Profile(user=u, display_name=u.username, notify_email=False) for u in users]
    )
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append((store.session_key, secrets.token_hex(16)))
    return slot_ids[:slots], sessions[:attempts], slot_ids[slots:], sessions[attempts:]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workers, port=None):
    port = port or free_port()
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "portal.wsgi",
            "--preload",  # as the README runs it in production
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false"},
        start_new_session=True,
    )
    deadline = time.monotonic() + 90  # a loaded machine takes a while to import Django twice
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/clinics/", headers={"Host": "127.0.0.1"})
            connection.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not start")


def _classify(status, location):
    if status == 302 and "/accounts/login/" in location:
        return "sign-in"
    if status == 302 and "/clinics/appointments/" in location:
        return "booked"
    if status == 302 and "/clinics/clinic/" in location:
        return "full"
    return f"error {status}"


async def _attempt(port, job, started=None):
    """One booking attempt over its own connection (gunicorn's sync workers close it). A job
    without a session is the floor: the same URL asked for by a visitor who is not signed in,
    which the portal answers with its sign-in redirect without touching the database."""
    slot_id, session = job
    if session is None:
        body = b""
        head = (
            f"GET /clinics/slot/{slot_id}/book/ HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    else:
        session_key, token = session
        body = urlencode({"person": "self", "csrfmiddlewaretoken": token}).encode()
        head = (
            f"POST /clinics/slot/{slot_id}/book/ HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Cookie: sessionid={session_key}; csrftoken={token}; portal_language=en\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    # In the open loop, from when the attempt was due: time spent waiting for a free client
    # is latency too.
    started = started if started is not None else time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + body)
        response = await asyncio.wait_for(reader.read(), timeout=60)
        writer.close()
        elapsed = time.perf_counter() - started
        header = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        status = int(header[0].split()[1])
        location = next(
            (h.split(":", 1)[1].strip() for h in header if h.lower().startswith("location:")), ""
        )
        return _classify(status, location), elapsed
    except (TimeoutError, OSError, IndexError, ValueError) as error:
        # A refused or dropped connection is an error to report, not to hide.
        return f"error {type(error).__name__}", time.perf_counter() - started


async def _closed_loop(port, jobs, clients):
    """`clients` connections, each sending its next attempt as soon as the last is answered."""
    queue = list(reversed(jobs))
    results = []

    async def client():
        while queue:
            results.append(await _attempt(port, queue.pop()))

    await asyncio.gather(*(client() for _ in range(clients)))
    return results


async def _open_loop(port, jobs, clients, rate):
    """Attempts start at `rate` per second whatever the answers (visitors do not wait for each
    other); at most `clients` are in flight, so a server that falls behind shows as latency."""
    limit = asyncio.Semaphore(clients)
    loop = asyncio.get_running_loop()
    begin = loop.time()

    async def one(index, job):
        await asyncio.sleep(max(0.0, begin + index / rate - loop.time()))
        due = time.perf_counter()
        async with limit:
            return await _attempt(port, job, started=due)

    return await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))


def run(port, jobs, clients, rate=None):
    """Fire the attempts from one asyncio loop: a load generator of threads would take the CPU
    the server is being measured on (this machine has two cores)."""
    started = time.perf_counter()
    if rate:
        results = asyncio.run(_open_loop(port, jobs, clients, rate))
    else:
        results = asyncio.run(_closed_loop(port, jobs, clients))
    return results, time.perf_counter() - started


def _cpu_seconds(pids):
    """utime + stime of these processes (Linux /proc; None elsewhere)."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def server_cpu_seconds(master_pid):
    """CPU time used so far by gunicorn's master and workers."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return None
    return _cpu_seconds([str(master_pid), *children])


def database_pids():
    """PostgreSQL's processes that work for this run: the backends connected to the bench
    database (gunicorn's workers keep theirs open) and the WAL writer every commit wakes. Read
    after the warm-up, when the workers' connections exist; None if /proc cannot be read."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() "
            "AND pid <> pg_backend_pid()) OR backend_type = 'walwriter'"
        )
        pids = [str(row[0]) for row in cursor.fetchall()]
    return pids if _cpu_seconds(pids) is not None else None


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def check_places(slot_ids, capacity, results):
    """Exact capacity for one round: (summary line, ok). Bookings made must equal the places
    of its slots, with no slot over capacity and no error."""
    outcomes = [o for o, _ in results]
    booked_rows = Appointment.objects.filter(slot__in=slot_ids, status="booked").count()
    booked_counter = Slot.objects.filter(pk__in=slot_ids).aggregate(n=Sum("booked"))["n"]
    over = Slot.objects.filter(pk__in=slot_ids, booked__gt=capacity).count()
    errors = [o for o in outcomes if o.startswith("error")]
    total = len(slot_ids) * capacity
    line = (
        f"booked answers {outcomes.count('booked')}, full answers {outcomes.count('full')}, "
        f"errors {len(errors)}; appointments in database {booked_rows}, slot counters "
        f"{booked_counter}, total capacity {total}, slots over capacity {over}"
    )
    if errors:
        line += f"; errors: {sorted(set(errors))}"
    return line, booked_rows == booked_counter == total and not errors and not over


def latency_line(results):
    latencies = [t * 1000 for _, t in results]
    return (
        f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )


def per_attempt(before, after, count):
    if before is None or after is None:
        return None
    return (after - before) / count * 1000


def closed_round(port, process, pg_pids, jobs, clients):
    """One closed-loop booking run, then the floor: as many sign-in redirects from the same
    clients to the same URLs. Returns (booking results, booking wall, floor results, floor
    wall, gunicorn ms per attempt, PostgreSQL ms per attempt, gunicorn ms per floor request)."""
    pg_before = _cpu_seconds(pg_pids) if pg_pids else None
    cpu_before = server_cpu_seconds(process.pid)
    results, wall = run(port, jobs, clients)
    cpu_after = server_cpu_seconds(process.pid)
    pg_after = _cpu_seconds(pg_pids) if pg_pids else None
    floor_results, floor_wall = run(port, [(slot_id, None) for slot_id, _ in jobs], clients)
    floor_cpu = server_cpu_seconds(process.pid)
    return (
        results,
        wall,
        floor_results,
        floor_wall,
        per_attempt(cpu_before, cpu_after, len(results)),
        per_attempt(pg_before, pg_after, len(results)),
        per_attempt(cpu_after, floor_cpu, len(floor_results)),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--capacity", type=int, default=3)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="closed-loop rounds, each on slots and residents of its own and each followed by "
        "its floor (the same requests, not signed in); the ratio reported is their median",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=100,
        help="then an open-loop round on slots of its own: start this many attempts per second "
        "whatever the answers (0: none)",
    )
    args = parser.parse_args()
    if args.attempts < args.slots * args.capacity:
        sys.exit("Need at least slots x capacity attempts so every place is asked for.")
    if args.rounds < 1 and not args.rate:
        sys.exit("Nothing to measure: --rounds 0 and --rate 0.")

    # DEBUG is off as in production, so pages need the hashed static files.
    call_command("collectstatic", interactive=False, verbosity=0)
    warmup = args.workers * 20
    sets = args.rounds + (1 if args.rate else 0)
    days = (args.slots * sets + 2 + 31) // 32  # seed() lays 32 slots a day from tomorrow
    if days > horizon_days():
        sys.exit(
            f"{args.slots * sets + 2} slots take {days} days, beyond the booking horizon of "
            f"{horizon_days()} days: use fewer --slots or --rounds."
        )
    slot_ids, sessions, warm_slots, warm_sessions = seed(
        args.slots * sets, args.capacity, args.attempts * sets, warmup
    )
    rounds = []
    for index in range(sets):
        slots = slot_ids[index * args.slots : (index + 1) * args.slots]
        targets = [slots[i % len(slots)] for i in range(args.attempts)]
        random.shuffle(targets)
        residents = sessions[index * args.attempts : (index + 1) * args.attempts]
        rounds.append((slots, list(zip(targets, residents, strict=True))))
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"database: {settings.DATABASES['default']['NAME']}, gunicorn workers: {args.workers}, "
        f"{args.attempts} attempts from {args.clients} clients on {args.slots} slots of "
        f"{args.capacity} places a round, load average before: {load_before}"
    )
    process, port = start_server(args.workers)
    ok = True
    ratios = []
    try:
        # A server runs for days: warm every worker (templates, URL maps, translations) on
        # bookings and "full" answers of slots outside the measurement.
        warm_jobs = [(warm_slots[i % 2], session) for i, session in enumerate(warm_sessions)]
        warm_results, _wall = run(port, warm_jobs, args.workers * 2)
        warm_outcomes = {outcome for outcome, _ in warm_results}
        if not warm_outcomes <= {"booked", "full"}:
            sys.exit(f"The warm-up was refused or failed: {sorted(warm_outcomes)}")
        pg_pids = database_pids()
        for number, (slots, jobs) in enumerate(rounds[: args.rounds], start=1):
            results, wall, floor, floor_wall, cpu, pg_cpu, floor_cpu = closed_round(
                port, process, pg_pids, jobs, args.clients
            )
            places, exact = check_places(slots, args.capacity, results)
            signed_out = [o for o, _ in floor].count("sign-in")
            exact = exact and signed_out == len(floor)
            ok = ok and exact
            ratio = (len(results) / wall) / (len(floor) / floor_wall)
            ratios.append(ratio)
            print(f"closed loop, round {number}:")
            print(
                f"  attempts {len(results)} in {wall:.2f} s ({len(results) / wall:.0f}/s), "
                f"{latency_line(results)}"
            )
            print(f"  {places}")
            print(
                f"  floor (sign-in redirects, not signed in): {len(floor)} in {floor_wall:.2f} s "
                f"({len(floor) / floor_wall:.0f}/s), sign-in answers {signed_out}, "
                f"{latency_line(floor)}"
            )
            if cpu is not None and floor_cpu is not None:
                # Steadier than the throughputs on a shared machine: CPU time is what the
                # server spends, whatever else runs beside it.
                pg = f", PostgreSQL {pg_cpu:.1f} ms" if pg_cpu is not None else ""
                print(
                    f"  CPU per attempt: gunicorn {cpu:.1f} ms{pg}; per floor request: gunicorn "
                    f"{floor_cpu:.2f} ms; floor CPU / attempt CPU {floor_cpu / cpu:.2f}"
                )
            print(f"  booking throughput / floor throughput: {ratio:.2f}")
        if args.rate:
            slots, jobs = rounds[-1]
            results, wall = run(port, jobs, args.clients, args.rate)
            places, exact = check_places(slots, args.capacity, results)
            ok = ok and exact
            print(f"open loop at {args.rate:g} attempts/s:")
            print(
                f"  attempts {len(results)} in {wall:.2f} s ({len(results) / wall:.0f}/s), "
                f"{latency_line(results)} (goal: p95 under 150 ms at 100/s)"
            )
            print(f"  {places}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    if ratios:
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"booking throughput / floor throughput: median {statistics.median(ratios):.2f} "
            f"of {len(ratios)} rounds ({listed}); goal at least 0.25"
        )
    print("exact capacity, no errors: " + ("yes" if ok else "NO"))
    # Bench data is left in place for inspection; the next run replaces it.
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
