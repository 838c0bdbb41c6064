"""Soak: a bounded mixed load on the production stack, with faults, for a set time.

Residents (sign in by session, My page, clinics, book a place, look at it, cancel it, the
inbox), clinic staff (the back office and the clinic day list) and anonymous visitors (home,
clinics, /fhir/metadata, a static CSS file) each in a closed loop with think time, against
gunicorn (DEBUG off), PostgreSQL, a Celery worker (prefork) with beat, and a Redis this
script starts for itself on a free port (so it can freeze it without disturbing anyone).
During the run it freezes Redis once (SIGSTOP: it accepts connections and answers nothing),
kills one gunicorn worker, and kills one Celery worker process while it is sending an e-mail
(kill -9). At the end it waits for the outbox to drain and reports requests, errors and
p50/p95 per page, and notifications expected, sent, duplicated and lost.

E-mail goes to bench/soak_mail.py, which takes SOAK_MAIL_DELAY seconds per message (an SMTP
exchange) and writes one file per message, so arrivals are counted by Message-ID.

Not a test: run it by hand against a PostgreSQL database of its own (it migrates it and
replaces its own data there on every run), e.g.

    createdb -h 127.0.0.1 -U postgres portal_soak
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_soak \\
        .venv/bin/python bench/soak.py --minutes 10

Results go in docs/benchmarks.md.
"""

import argparse
import email
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from email import policy
from importlib import import_module
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database of its own (see the docstring).")

from tests.redis_server import RedisServer, free_port  # noqa: E402

PREFIX = "soak"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 15  # seconds; longer than any answer we accept, shorter than a hang


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--residents", type=int, default=12)
    parser.add_argument("--staff", type=int, default=2)
    parser.add_argument("--anonymous", type=int, default=6)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between requests")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-timeout", type=int, default=30, help="gunicorn's default")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--freeze-seconds", type=float, default=15.0)
    parser.add_argument("--lease-seconds", type=int, default=30)
    parser.add_argument("--sweep-seconds", type=int, default=10)
    parser.add_argument("--mail-delay", type=float, default=0.3)
    parser.add_argument(
        "--no-fhir-metadata",
        action="store_true",
        help="leave /fhir/metadata out of the anonymous mix (its first call in a fresh worker "
        "imports every FHIR model: seconds of CPU)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args()


ARGS = parse_args()
RUN_DIR = Path(tempfile.mkdtemp(prefix="portal-soak-"))
MAIL_DIR, SENDING_DIR = RUN_DIR / "mail", RUN_DIR / "sending"
MAIL_DIR.mkdir()
SENDING_DIR.mkdir()

REDIS = RedisServer(
    shutil.which("redis-server") or sys.exit("redis-server is not installed"), free_port()
)
REDIS.start()

os.environ.update(
    {
        "REDIS_URL": REDIS.url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "soak-only-" + secrets.token_hex(16)),
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on 127.0.0.1
        "ALLOWED_HOSTS": HOST,
        "PORTAL_VAR_DIR": str(ROOT / "var" / "soak"),
        "EMAIL_BACKEND": "bench.soak_mail.SlowFileEmailBackend",
        "EMAIL_FILE_PATH": str(MAIL_DIR),
        "SOAK_MAIL_SENDING": str(SENDING_DIR),
        "SOAK_MAIL_DELAY": str(ARGS.mail_delay),
        "NOTIFICATIONS_LEASE_SECONDS": str(ARGS.lease_seconds),
        "NOTIFICATIONS_SWEEP_SECONDS": str(ARGS.sweep_seconds),
    }
)
for name in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,  # noqa: E402
)
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from allauth.mfa.models import Authenticator  # noqa: E402

from health.booking.models import Appointment, AppointmentStatus, Clinic, Service, Slot  # noqa: E402
from portal.accounts import roles  # noqa: E402
from portal.accounts.models import Profile  # noqa: E402
from portal.notifications.models import Delivery, Message  # noqa: E402

# Setup ----------------------------------------------------------------------------------------


def prepare_database():
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    # Every run: a manifest from an older checkout lacks newer files (a 500 on every page).
    call_command("collectstatic", "--noinput", verbosity=0)


def make_session(user):
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key, secrets.token_hex(16)


def seed(residents, staff, slots=40):
    """Fresh soak data: one clinic and service, `slots` roomy slots, residents and clinic staff
    with signed-in sessions. Returns (slot ids, resident sessions, staff sessions)."""
    User = get_user_model()
    User.objects.filter(username__startswith=PREFIX).delete()  # their messages and bookings too
    Slot.objects.filter(clinic__code=PREFIX).delete()
    Clinic.objects.filter(code=PREFIX).delete()
    service, _ = Service.objects.update_or_create(
        code=PREFIX, defaults={"name_zh_hant": "壓測", "name_zh_hans": "压测", "name_en": "Soak"}
    )
    clinic = Clinic.objects.create(
        code=PREFIX,
        name_zh_hant="壓測診所",
        name_zh_hans="压测诊所",
        name_en="Soak clinic",
        address_zh_hant="1 Soak Road",
        latitude="22.3",
        longitude="114.17",
        phone="28000000",
    )
    clinic.services.add(service)
    first_day = timezone.localdate() + timedelta(days=2)
    rows = []
    for index in range(slots):
        day = first_day + timedelta(days=index // 16)
        start = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
            hours=9, minutes=15 * (index % 16)
        )
        rows.append(
            Slot(
                clinic=clinic,
                service=service,
                start=start,
                end=start + timedelta(minutes=15),
                capacity=10_000,
            )
        )
    slot_ids = [slot.pk for slot in Slot.objects.bulk_create(rows)]

    def user(name, **fields):
        account = User.objects.create_user(
            username=f"{PREFIX}-{name}", email=f"{PREFIX}-{name}@soak.example", **fields
        )
        Profile.objects.update_or_create(
            user=account, defaults={"display_name": account.username, "notify_email": True}
        )
        return account

    resident_sessions = [make_session(user(f"resident-{n}")) for n in range(residents)]
    staff_group = Group.objects.get(name=roles.CLINIC_STAFF)
    staff_sessions = []
    for n in range(staff):
        member = user(f"staff-{n}")
        member.groups.add(staff_group)
        clinic.staff.add(member)
        Authenticator.objects.create(
            user=member, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
        )
        staff_sessions.append(make_session(member))
    return slot_ids, resident_sessions, staff_sessions


def start_server():
    """gunicorn as the README runs it (sync workers, --preload); returns (process, port)."""
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi", "--preload",
         "--bind", f"{HOST}:{port}",
         "--workers", str(ARGS.gunicorn_workers), "--timeout", str(ARGS.gunicorn_timeout),
         "--log-level", "warning"],
        cwd=ROOT, env=dict(os.environ), start_new_session=True,
        stdout=open(RUN_DIR / "gunicorn.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    deadline = time.monotonic() + 180  # a loaded 2-core machine takes its time
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/accounts/login/", headers={"Host": HOST})
            connection.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.2)
    stop(process)
    sys.exit("gunicorn did not start")


def warm_up(port, session):
    """Load every page once in every gunicorn worker (templates, imports; /fhir/metadata
    imports every FHIR resource model, seconds of CPU in a fresh process): bursts of as many
    concurrent requests as there are workers, until a whole burst answers within 2 s."""
    paths = ("/", "/clinics/", "/me/", "/inbox/", "/admin/", *ANONYMOUS_PAGES)

    def one(path, times):
        started = time.time()
        call(port, "warm-up", "GET", path, session, timeout=120)
        times.append(time.time() - started)

    for _round in range(3):
        times = []
        for path in paths:
            burst = [
                threading.Thread(target=one, args=(path, times))
                for _ in range(ARGS.gunicorn_workers)
            ]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join()
        if max(times) < 2:
            return
    print("Warning: the workers did not all warm up.", flush=True)


def start_celery():
    celery = str(ROOT / ".venv" / "bin" / "celery")
    common = {"cwd": ROOT, "env": dict(os.environ), "start_new_session": True}
    log = open(RUN_DIR / "celery.log", "wb")  # noqa: SIM115 (kept open for the run)
    worker = subprocess.Popen(
        [celery, "-A", "portal", "worker", "--concurrency", str(ARGS.celery_concurrency),
         "--loglevel=warning", "-n", f"soak-{os.getpid()}@%h"],
        stdout=log, stderr=subprocess.STDOUT, **common,
    )  # fmt: skip
    beat = subprocess.Popen(
        [celery, "-A", "portal", "beat", "--loglevel=warning",
         "--schedule", str(RUN_DIR / "celerybeat-schedule")],
        stdout=log, stderr=subprocess.STDOUT, **common,
    )  # fmt: skip
    return worker, beat


def children(pid):
    """The pids whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# Load -----------------------------------------------------------------------------------------

RESULTS = []  # (page, ok, status, started, ended)
RESULTS_LOCK = threading.Lock()
STOP = threading.Event()


def call(port, page, method, path, session=None, data=None, expect=(200,), timeout=None):
    """One request over its own connection; records it; returns (status, location)."""
    cookies = ["portal_language=en"]
    if session:
        cookies += [f"sessionid={session[0]}", f"csrftoken={session[1]}"]
    headers = {"Host": HOST, "Cookie": "; ".join(cookies), "Connection": "close"}
    body = None
    if data is not None:
        body = urlencode({**data, "csrfmiddlewaretoken": session[1]})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.time()
    status, location = 0, ""
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout or REQUEST_TIMEOUT)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status, location = response.status, response.getheader("Location", "")
        connection.close()
    except (OSError, http.client.HTTPException) as error:
        location = type(error).__name__
    ended = time.time()
    with RESULTS_LOCK:
        RESULTS.append((page, status in expect, status or location, started, ended))
    return status, location


def pause():
    time.sleep(random.uniform(0.5, 1.5) * ARGS.think)


def resident_loop(port, session, slot_ids, counts):
    appointment_url = re.compile(r"/clinics/appointments/(\d+)/$")
    while not STOP.is_set():
        call(port, "/me/", "GET", "/me/", session)
        pause()
        call(port, "/clinics/", "GET", "/clinics/", session)
        pause()
        slot = random.choice(slot_ids)
        status, location = call(
            port, "book (POST)", "POST", f"/clinics/slot/{slot}/book/", session,
            {"person": "self"}, expect=(302,),
        )  # fmt: skip
        booked = appointment_url.search(location or "") if status == 302 else None
        if booked:
            counts["booked"] += 1
            pause()
            url = f"/clinics/appointments/{booked.group(1)}/"
            call(port, "appointment", "GET", url, session)
            pause()
            status, _ = call(
                port, "cancel (POST)", "POST", url + "cancel/", session,
                {"reason": "Soak test"}, expect=(302,),
            )  # fmt: skip
            counts["cancel answered"] += status == 302
        pause()
        call(port, "/inbox/", "GET", "/inbox/", session)
        pause()


def staff_loop(port, session):
    while not STOP.is_set():
        call(port, "/admin/", "GET", "/admin/", session)
        pause()
        call(port, "/admin/booking/day/", "GET", "/admin/booking/day/", session)
        pause()


ANONYMOUS_PAGES = ("/", "/accounts/login/") + (() if ARGS.no_fhir_metadata else ("/fhir/metadata",))


def anonymous_loop(port, css):
    while not STOP.is_set():
        for page in ANONYMOUS_PAGES:
            call(port, page, "GET", page)
            pause()
        call(port, "static CSS", "GET", css)
        pause()


# Faults ---------------------------------------------------------------------------------------


def faults(server, worker, duration, events):
    """Freeze Redis at 20 % of the run, kill a gunicorn worker at 45 %, a Celery worker process
    in mid-delivery at 65 %."""
    started = time.time()

    def wait_until(share):
        STOP.wait(max(0.0, started + share * duration - time.time()))
        return not STOP.is_set()

    if not wait_until(0.20):
        return
    events["redis frozen"] = time.time()
    REDIS.freeze()
    STOP.wait(ARGS.freeze_seconds)
    REDIS.thaw()
    events["redis thawed"] = time.time()

    if not wait_until(0.45):
        return
    victims = children(server.pid)
    if victims:
        victim = random.choice(victims)
        os.kill(victim, signal.SIGKILL)
        events["gunicorn worker killed"] = time.time()
        events["gunicorn worker pid"] = victim

    if not wait_until(0.65):
        return
    pool = set(children(worker.pid))
    deadline = time.time() + 60
    while time.time() < deadline and not STOP.is_set():
        sending = [int(p.name) for p in SENDING_DIR.iterdir() if int(p.name) in pool]
        if sending:
            os.kill(sending[0], signal.SIGKILL)
            events["celery worker killed mid-delivery"] = time.time()
            events["celery worker pid"] = sending[0]
            return
        time.sleep(0.01)
    events["celery worker kill"] = "no worker was sending within 60 s: none killed"


# Report ---------------------------------------------------------------------------------------


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def drain(timeout):
    """Wait until the outbox of the soak's residents has nothing pending or sending."""
    deadline = time.time() + timeout
    open_rows = Delivery.objects.filter(
        message__user__username__startswith=PREFIX,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
    )
    while time.time() < deadline:
        if not open_rows.exists():
            return 0
        time.sleep(1)
    return open_rows.count()


def mail_received():
    ids = Counter()
    for path in MAIL_DIR.glob("*.eml"):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        ids[parsed["Message-ID"]] += 1
    return ids


def report(events, duration, counts, left_open):
    frozen = (events.get("redis frozen", 0), events.get("redis thawed", 0))
    kill_at = events.get("gunicorn worker killed")
    pages = defaultdict(list)
    errors = Counter()
    frozen_latencies = []
    for page, ok, status, started, ended in RESULTS:
        pages[page].append((ok, ended - started))
        during_freeze = frozen[0] and started < frozen[1] and ended > frozen[0]
        if during_freeze:
            frozen_latencies.append(ended - started)
        if not ok:
            if during_freeze:
                where = "during the Redis freeze"
            elif kill_at and started <= kill_at <= ended:
                where = "in flight on the killed gunicorn worker"
            else:
                where = "outside the fault windows"
            errors[(where, page, str(status))] += 1

    soak_messages = Message.objects.filter(user__username__startswith=PREFIX)
    expected_ids = {
        pk: f"<notification-{pk}.email@" for pk in soak_messages.values_list("pk", flat=True)
    }
    received = mail_received()
    received_pks = Counter()
    for message_id, times in received.items():
        found = re.match(r"<notification-(\d+)\.email@", message_id or "")
        if found:
            received_pks[int(found.group(1))] += times
    appointments = Appointment.objects.filter(resident__username__startswith=PREFIX)
    figures = {
        "duration_s": round(duration),
        "requests": len(RESULTS),
        "errors": sum(errors.values()),
        "errors_by_kind": [
            {"where": where, "page": page, "status": status, "count": count}
            for (where, page, status), count in sorted(errors.items())
        ],
        "pages": {
            page: {
                "requests": len(rows),
                "errors": sum(not ok for ok, _ in rows),
                "p50_ms": round(1000 * statistics.median(t for _, t in rows)),
                "p95_ms": round(1000 * percentile([t for _, t in rows], 0.95)),
                "max_ms": round(1000 * max(t for _, t in rows)),
            }
            for page, rows in sorted(pages.items())
        },
        "freeze": {
            "seconds": round(frozen[1] - frozen[0], 1) if frozen[0] else None,
            "requests_overlapping": len(frozen_latencies),
            "max_ms": round(1000 * max(frozen_latencies)) if frozen_latencies else None,
            "over_2s": sum(t > 2 for t in frozen_latencies),
        },
        "faults": {k: v for k, v in events.items() if "pid" in k or isinstance(v, str)},
        "bookings_answered": counts["booked"],
        "cancellations_answered": counts["cancel answered"],
        "appointments_in_db": appointments.count(),
        "cancelled_in_db": appointments.filter(status=AppointmentStatus.CANCELLED).count(),
        "notifications_expected": len(expected_ids),
        "emails_received": sum(received_pks.values()),
        "emails_distinct": len(received_pks),
        "emails_duplicated": sum(times - 1 for times in received_pks.values() if times > 1),
        "emails_lost": len(set(expected_ids) - set(received_pks)),
        "deliveries_left_open": left_open,
        "deliveries_by_status": dict(
            Counter(
                Delivery.objects.filter(message__in=soak_messages).values_list("status", flat=True)
            )
        ),
        "deliveries_sent_again_after_a_dead_worker": Delivery.objects.filter(
            message__in=soak_messages, status=Delivery.Status.SENT, attempts__gt=1
        ).count(),
    }
    return figures


def print_report(figures):
    print(f"\nSoak: {figures['duration_s']} s, {figures['requests']} requests, "
          f"{figures['errors']} errors")  # fmt: skip
    print("\n| page | requests | errors | p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|")
    for page, row in figures["pages"].items():
        print(f"| `{page}` | {row['requests']} | {row['errors']} | {row['p50_ms']} ms | "
              f"{row['p95_ms']} ms | {row['max_ms']} ms |")  # fmt: skip
    print("\nErrors:")
    for row in figures["errors_by_kind"] or [{"where": "none"}]:
        print("  ", row)
    print("Freeze:", figures["freeze"])
    print("Faults:", figures["faults"])
    for key in (
        "bookings_answered", "cancellations_answered", "appointments_in_db", "cancelled_in_db",
        "notifications_expected", "emails_received", "emails_distinct", "emails_duplicated",
        "emails_lost", "deliveries_left_open", "deliveries_by_status",
        "deliveries_sent_again_after_a_dead_worker",
    ):  # fmt: skip
        print(f"{key}: {figures[key]}")


def main():
    duration = ARGS.minutes * 60
    prepare_database()
    slot_ids, resident_sessions, staff_sessions = seed(ARGS.residents, ARGS.staff)
    server, port = start_server()
    worker, beat = start_celery()
    css = (
        "/static/"
        + json.loads((Path(settings.STATIC_ROOT) / "staticfiles.json").read_text())["paths"][
            "css/portal.css"
        ]
    )
    events, counts = {}, Counter()
    try:
        warm_up(port, staff_sessions[0] if staff_sessions else resident_sessions[0])
        RESULTS.clear()
        threads = [
            threading.Thread(target=resident_loop, args=(port, s, slot_ids, counts))
            for s in resident_sessions
        ]
        threads += [threading.Thread(target=staff_loop, args=(port, s)) for s in staff_sessions]
        threads += [
            threading.Thread(target=anonymous_loop, args=(port, css)) for _ in range(ARGS.anonymous)
        ]
        threads.append(threading.Thread(target=faults, args=(server, worker, duration, events)))
        started = time.time()
        print(f"Soak for {ARGS.minutes} min on port {port}; Redis {REDIS.url}; run dir {RUN_DIR}",
              flush=True)  # fmt: skip
        for thread in threads:
            thread.start()
        STOP.wait(duration)
        STOP.set()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        left_open = drain(ARGS.lease_seconds + 3 * ARGS.sweep_seconds + 60)
        figures = report(events, elapsed, counts, left_open)
    finally:
        if REDIS.process is not None and REDIS.process.poll() is None:
            REDIS.thaw()
        for process in (server, worker, beat):
            stop(process)
        REDIS.stop()
    print_report(figures)
    if ARGS.json:
        ARGS.json.write_text(json.dumps(figures, indent=2))
    print(f"\nLogs and mail in {RUN_DIR}")
    restarts = (RUN_DIR / "gunicorn.log").read_text(errors="replace").count("WORKER TIMEOUT")
    print(f"gunicorn worker timeouts (killed after {ARGS.gunicorn_timeout} s): {restarts}")


if __name__ == "__main__":
    main()
