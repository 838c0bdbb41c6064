"""My page under load, against the ceiling: a bare Django view on the same server, same run.

gunicorn (--workers, default 2, sync, DEBUG off) on PostgreSQL + Redis as production runs it.
Seeds --residents residents, each with --items upcoming appointments and inbox messages and a
link to the demo health record (run `manage.py load_demo` first), signs each in, and asks for
My page --requests times from --clients concurrent clients (closed loop), residents in random
order so each is seen several times, as a resident comes back to the page during a day. Then it
sends as many requests for `/favicon.ico` (a function view that redirects, no session, no
query) from the same clients: the ceiling, what this server answers at best. Prints both, the
ratio (goal: My page at least 20 % of the ceiling), and, in-process, My page's query count
for a first (cold) and a repeated (cached) visit. --first-only measures first visits alone
(each resident once; other residents warm the workers). Not a test; results go in
docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/mypage_load.py
"""

import argparse
import os
import random
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importlib import import_module  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.booking_load import (  # noqa: E402  (sets up Django for a PostgreSQL database)
    server_cpu_seconds,
    start_server,
)
from bench.common import CEILING_PATH, CEILING_STATUS, run, summary  # noqa: E402
from health.booking.models import Appointment, Clinic, Service, Slot  # noqa: E402
from health.fhir.models import PatientLink  # noqa: E402
from portal.accounts.models import Profile  # noqa: E402
from portal.notifications.models import Message  # noqa: E402

PREFIX = "bench-mypage"
WARMED = " (every one's My page visited once before measuring)"
FIRST_ONLY = " (each one's first visit alone, once)"
DEMO_PATIENT = "demo-chan-taiman"


def seed(residents, items):
    """Fresh residents with `items` appointments and messages each; [(session key, user)]."""
    User = get_user_model()
    Appointment.objects.filter(slot__clinic__code=PREFIX).delete()
    Slot.objects.filter(clinic__code=PREFIX).delete()
    Clinic.objects.filter(code=PREFIX).delete()
    User.objects.filter(username__startswith=PREFIX).delete()
    service, _ = Service.objects.update_or_create(
        code=PREFIX, defaults={"name_zh_hant": "壓測", "name_zh_hans": "压测", "name_en": "Bench"}
    )
    clinic = Clinic.objects.create(
        code=PREFIX,
        name_zh_hant="壓測診所",
        name_zh_hans="压测诊所",
        name_en="Bench clinic",
        address_zh_hant="1 Bench Road",
        latitude="22.3",
        longitude="114.17",
        phone="28000000",
    )
    clinic.services.add(service)
    start = timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=2), datetime.min.time())
    ) + timedelta(hours=9)
    users = User.objects.bulk_create(
        [
            User(username=f"{PREFIX}-{i}", email=f"{PREFIX}-{i}@bench.example", password="!")
            for i in range(residents)
        ]
    )
    Profile.objects.bulk_create(
        [
            Profile(user=u, display_name=u.username, preferred_language="en", notify_email=False)
            for u in users
        ]
    )
    slots = Slot.objects.bulk_create(
        [
            Slot(
                clinic=clinic,
                service=service,
                start=start + timedelta(minutes=15 * n),
                end=start + timedelta(minutes=15 * (n + 1)),
                capacity=residents,
                booked=residents,
            )
            for n in range(items)
        ]
    )
    Appointment.objects.bulk_create(
        [
            Appointment(slot=slot, resident=user, start=slot.start, end=slot.end)
            for user in users
            for slot in slots
        ]
    )
    Message.objects.bulk_create(
        [
            Message(user=user, kind="general", subject=f"Notice {n}", language="en")
            for user in users
            for n in range(items)
        ]
    )
    if not PatientLink.objects.filter(patient_id=DEMO_PATIENT).exists():
        sys.exit("Load the demo data first (manage.py load_demo): the residents' health record.")
    PatientLink.objects.bulk_create(
        [PatientLink(user=user, patient_id=DEMO_PATIENT) for user in users]
    )
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append((store.session_key, user))
    return sessions


def session_cookie(session_key):
    return f"sessionid={session_key}; portal_language=en"


def in_process(user):
    """My page's queries for a first visit (nothing cached) and a repeated one."""
    client = Client(HTTP_HOST="127.0.0.1")  # the host the server accepts (ALLOWED_HOSTS)
    client.cookies["portal_language"] = "en"
    client.force_login(user)
    counts = []
    for _ in range(2):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/me/").status_code == 200
        counts.append(len(captured))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=None, help="default: any free port")
    parser.add_argument(
        "--warm-all",
        action="store_true",
        help="visit every resident's My page once before measuring: every measured visit is a "
        "return visit (default: each resident's first visit is measured too, uncached)",
    )
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="every measured visit a resident's first: each of --residents once, in random "
        "order (--requests is ignored; the ceiling gets as many requests)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="measure again with the panel cache off (MYPAGE_CACHE_PANELS=false)",
    )
    args = parser.parse_args()

    call_command("collectstatic", interactive=False, verbosity=0)
    sessions = seed(args.residents + (args.workers * 20 if args.first_only else 0), args.items)
    # With --first-only, the residents that warm the workers, never measured.
    extra = sessions[args.residents :]
    sessions = sessions[: args.residents]
    cache.clear()
    cold, warm = in_process(sessions[0][1])
    print(f"My page in-process: {cold} queries on a first visit, {warm} when cached")
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.first_only:
        order = random.sample(sessions, len(sessions))
        jobs = [("/me/", session_cookie(key)) for key, _user in order]
    else:
        jobs = [("/me/", session_cookie(random.choice(sessions)[0])) for _ in range(args.requests)]
    floor_jobs = [(CEILING_PATH, None)] * len(jobs)
    print(
        f"database: {settings.DATABASES['default']['NAME']}, gunicorn workers: {args.workers}, "
        f"{args.clients} clients closed loop, {args.residents} residents with {args.items} "
        f"appointments and messages each{WARMED if args.warm_all else ''}"
        f"{FIRST_ONLY if args.first_only else ''}, "
        f"load average before: {load_before}"
    )
    ok = True
    # With the panel cache as configured, then (--compare) without it, each against the
    # ceiling measured right after it on the same server.
    for run_index, cached in enumerate([True, False] if args.compare else [True]):
        os.environ["MYPAGE_CACHE_PANELS"] = "true" if cached else "false"
        cache.clear()
        # A port of its own per run: the last server's socket may not be free yet.
        process, port = start_server(args.workers, args.port and args.port + run_index)
        try:
            # Warm every worker (templates, translations, URL maps) outside the measurement.
            # (With --first-only, other residents: the measured ones stay unvisited.)
            warm = (
                [("/me/", session_cookie(key)) for key, _user in extra]
                if args.first_only
                else jobs[: args.workers * 20]
            ) + floor_jobs[: args.workers * 20]
            if args.warm_all:
                warm += [("/me/", session_cookie(key)) for key, _user in sessions]
            run(port, warm, args.workers * 2)
            cpu_before = server_cpu_seconds(process.pid)
            mypage, mypage_wall = run(port, jobs, args.clients)
            cpu_after = server_cpu_seconds(process.pid)
            floor, floor_wall = run(port, floor_jobs, args.clients)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        label = "panel cache on" if cached else "panel cache off"
        page = summary(f"My page ({label})", mypage, mypage_wall, 200)
        floor_ = summary(f"  bare view ({CEILING_PATH})", floor, floor_wall, CEILING_STATUS)
        rate, page_ok, ceiling, floor_ok = page["rate"], page["ok"], floor_["rate"], floor_["ok"]
        if cpu_before is not None and cpu_after is not None:
            cpu = (cpu_after - cpu_before) / len(mypage) * 1000
            print(f"  gunicorn CPU per My page: {cpu:.1f} ms")
        print(f"  ratio: My page at {rate / ceiling:.1%} of the ceiling (goal at least 20 %)")
        ok = ok and page_ok and floor_ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
