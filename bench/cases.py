"""Service cases at scale: 100,000 open cases in one office.

- recompute: every open case's due date worked out again after a calendar change (a closure
  day that moves them all), through services.recompute_open_cases — goal under 60 s;
- queue: the officer queue's first page with filters, through the full Django stack (test
  client, signed in as an officer of that office) — goal p95 under 200 ms;
- mypage: My page for a resident with 1 and with 20 cases — the query count must not grow,
  and p95.

Not a test: run it by hand against a database of its own, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_cases_bench SECRET_KEY=bench-only \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=… SECRET_KEY=bench-only .venv/bin/python manage.py collectstatic --no-input
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_cases_bench SECRET_KEY=bench-only \\
        .venv/bin/python bench/cases.py --cases 100000

DEBUG stays off, as in production. Results go in docs/benchmarks.md.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.cases import services  # noqa: E402
from portal.cases.models import Case, CaseState, Office, Service  # noqa: E402
from portal.workcalendar.models import CalendarDay  # noqa: E402
from portal.workcalendar.services import seed_year  # noqa: E402

OFFICE = "BENCH"
STATES = [CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.IN_PROGRESS]


def p95(values):
    values = sorted(values)
    return values[max(0, int(round(0.95 * len(values))) - 1)]


def user(email, **extra):
    User = get_user_model()
    found = User.objects.filter(email=email).first()
    if found:
        return found
    created = User.objects.create_user(username=email, email=email, password="bench-pass", **extra)
    return created


def seed(count):
    office, _ = Office.objects.get_or_create(
        code=OFFICE,
        defaults={
            "kind": Office.Kind.DEPARTMENT,
            "name_zh_hant": "基準辦事處",
            "name_zh_hans": "基准办事处",
            "name_en": "Bench office",
        },
    )
    services_list = []
    for index in range(5):
        service, _ = Service.objects.get_or_create(
            code=f"bench-{index}",
            defaults={
                "office": office,
                "name_zh_hant": f"服務{index}",
                "name_zh_hans": f"服务{index}",
                "name_en": f"Service {index}",
                "promised_days": [5, 10, 15, 20, 30][index],
            },
        )
        services_list.append(service)
    from django.contrib.auth.models import Group

    officer = user("officer@bench.example")
    officer.groups.add(Group.objects.get(name="Case officers"))
    office.officers.add(officer)
    have = Case.objects.filter(office=office).count()
    if have >= count:
        return office, services_list, officer
    applicants = [user(f"applicant{i}@bench.example") for i in range(50)]
    today = timezone.localdate()
    rng = random.Random(7)
    batch = []
    for index in range(have, count):
        service = services_list[index % len(services_list)]
        batch.append(
            Case(
                service=service,
                office=office,
                applicant=applicants[index % len(applicants)],
                state=STATES[index % len(STATES)],
                reference=f"{OFFICE}-{today.year}-{index + 1:06d}",
                received_on=today - timedelta(days=rng.randint(0, 40)),
                assigned_to=officer if index % 4 == 0 else None,
                submitted_at=timezone.now(),
            )
        )
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    if batch:
        Case.objects.bulk_create(batch)
    services.recompute_open_cases()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    return office, services_list, officer


def bench_recompute(office):
    today = timezone.localdate()
    closure = today + timedelta(days=1)
    while closure.weekday() >= 5:
        closure += timedelta(days=1)
    CalendarDay.objects.filter(date=closure).delete()
    with transaction.atomic():
        CalendarDay.objects.create(
            date=closure, kind=CalendarDay.Kind.CLOSURE, name_en="Bench typhoon"
        )
    # Where the wall time goes: the UPDATE of each batch's due dates, and the history and
    # feed INSERTs; the rest is reading the open cases and the arithmetic.
    from portal.cases import clock

    spent = {"update": 0.0, "history": 0.0}
    store = clock._store_due_dates

    def timed_store(cases):
        begin = time.perf_counter()
        store(cases)
        spent["update"] += time.perf_counter() - begin

    def timed_record(moved):
        begin = time.perf_counter()
        services.record_due_date_changes(moved)
        spent["history"] += time.perf_counter() - begin

    clock._store_due_dates = timed_store
    start, cpu = time.perf_counter(), time.process_time()
    try:
        result = services.recompute_open_cases(on_change=timed_record)
    finally:
        clock._store_due_dates = store
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    again = services.recompute_open_cases()
    idle = time.perf_counter() - start
    CalendarDay.objects.filter(date=closure).delete()
    services.recompute_open_cases()
    print(
        f"recompute: {result.checked} open cases, {result.changed} moved in {elapsed:.1f} s "
        f"({cpu:.1f} s CPU in Python; UPDATE {spent['update']:.1f} s, history and feed "
        f"INSERTs {spent['history']:.1f} s, reading and arithmetic the rest); "
        f"a second run (nothing to change) {idle:.1f} s, {again.changed} moved"
    )


def bench_queue(office, services_list, officer, runs):
    client = Client()
    client.force_login(officer)
    # The floor: the same page for an office with no cases (the admin's page, sign-in checks,
    # menus and the calendar), so the cost of 100,000 cases is what lies above it.
    empty, _ = Office.objects.get_or_create(
        code="EMPTY",
        defaults={"kind": Office.Kind.DEPARTMENT, "name_en": "Empty office"},
    )
    empty.officers.add(officer)
    queries = [
        {"office": empty.pk, "floor": "1"},
        {"office": office.pk},
        {"office": office.pk, "risk": "at_risk"},
        {"office": office.pk, "risk": "overdue", "service": services_list[1].pk},
        {"office": office.pk, "status": "in_progress", "assigned": "none"},
        {"office": office.pk, "assigned": "me", "service": services_list[0].pk},
        {},
    ]
    # Staff must have two-factor authentication set up before the admin lets them in.
    from allauth.mfa.models import Authenticator

    Authenticator.objects.get_or_create(
        user=officer,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": "JBSWY3DPEHPK3PXP"}},
    )
    for query in queries:
        client.get("/admin/cases/", query)  # warm
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get("/admin/cases/", query)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as captured:
            client.get("/admin/cases/", query)
        print(
            f"queue {query or 'open cases'}: p50 {statistics.median(timings):.0f} ms, "
            f"p95 {p95(timings):.0f} ms, {len(captured)} queries"
        )


def bench_mypage(services_list, runs):
    resident = user("mypage@bench.example")
    Case.objects.filter(applicant=resident).delete()
    client = Client()
    client.force_login(resident)

    def measure():
        client.get("/me/")
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get("/me/")
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as captured:
            client.get("/me/")
        return len(captured), statistics.median(timings), p95(timings)

    today = timezone.localdate()
    for count in (1, 20):
        have = Case.objects.filter(applicant=resident).count()
        for index in range(have, count):
            case = Case.objects.create(
                service=services_list[index % len(services_list)],
                office=services_list[0].office,
                applicant=resident,
                state=STATES[index % len(STATES)],
                reference=f"MYPAGE-{index}",
                received_on=today,
            )
            services.refresh_due_date(case)
        queries, median, high = measure()
        print(
            f"My page with {count} cases: {queries} queries, p50 {median:.0f} ms, p95 {high:.0f} ms"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-recompute", action="store_true")
    args = parser.parse_args()
    year = timezone.localdate().year
    for y in (year, year + 1):
        seed_year(y, confirm=True)
    start = time.perf_counter()
    office, services_list, officer = seed(args.cases)
    seeded = Case.objects.filter(office=office).count()
    print(f"seeded {seeded} cases in {time.perf_counter() - start:.0f} s")
    if not args.skip_recompute:
        bench_recompute(office)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")  # as autovacuum would after a bulk load
    bench_queue(office, services_list, officer, args.runs)
    bench_mypage(services_list, args.runs)


if __name__ == "__main__":
    main()
