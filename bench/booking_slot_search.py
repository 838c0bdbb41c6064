"""Slot search: how fast a resident finds a free time, with 20 clinics and 8 weeks of slots.

Seeds --clinics clinics offering three services, weekday sessions (09:00-12:30, 14:00-17:00,
15-minute slots) generated 8 weeks ahead by the real generator, with a share of the places
already booked; then times, --runs times each:

- clinic list: selectors.clinics_for_service (every clinic's next free slot for one service,
  ordered by distance), what /clinics/service/<code>/ shows;
- 14-day search: every free slot of one service across all clinics for the next 14 days, as
  model instances and as plain rows (what an API listing serialises);
- day picker: selectors.bookable_days for one clinic (free places per day, whole horizon);
- the pages themselves through the full Django stack (test client): GET /clinics/service/<code>/
  (clinics with their next free time) and /clinics/clinic/<id>/<code>/ (days and times).

Not a test: run it by hand against a database of its own, e.g.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_booking_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/booking_slot_search.py

DEBUG stays off, as in production: DEBUG's query log and error pages are not what residents get.

Results go in docs/benchmarks.md.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
# The test client speaks plain HTTP: no redirect to HTTPS.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from health.booking import schedules, selectors  # noqa: E402
from health.booking.models import Appointment, Clinic, ScheduleRule, Service, Slot  # noqa: E402
from portal.accounts.models import Community, Street  # noqa: E402

PREFIX = "bench-search"


def seed(clinic_count, booked_share):
    Appointment.objects.filter(slot__clinic__code__startswith=PREFIX).delete()
    Slot.objects.filter(clinic__code__startswith=PREFIX).delete()
    ScheduleRule.objects.filter(clinic__code__startswith=PREFIX).delete()
    Clinic.objects.filter(code__startswith=PREFIX).delete()
    service_rows = [
        Service.objects.update_or_create(
            code=f"{PREFIX}-{n}",
            defaults={
                "name_zh_hant": f"搜尋{n}",
                "name_zh_hans": f"搜索{n}",
                "name_en": f"Search {n}",
            },
        )[0]
        for n in range(3)
    ]
    community, _ = Community.objects.update_or_create(
        code=PREFIX,
        defaults={
            "name_zh_hant": "壓測",
            "name_zh_hans": "压测",
            "name_en": "Bench",
            "latitude": "22.300000",
            "longitude": "114.170000",
        },
    )
    street, _ = Street.objects.update_or_create(
        community=community,
        name_en="Bench Street",
        defaults={"name_zh_hant": "壓測街", "name_zh_hans": "压测街"},
    )
    rng = random.Random(4)
    for n in range(clinic_count):
        clinic = Clinic.objects.create(
            code=f"{PREFIX}-{n}",
            name_zh_hant=f"診所{n}",
            name_zh_hans=f"诊所{n}",
            name_en=f"Clinic {n}",
            community=community,
            address_zh_hant=f"{n} Bench Road",
            latitude=f"{22.25 + rng.random() * 0.1:.6f}",
            longitude=f"{114.12 + rng.random() * 0.1:.6f}",
            phone="28000000",
        )
        clinic.services.add(*service_rows)
        ScheduleRule.objects.bulk_create(
            ScheduleRule(
                clinic=clinic,
                service=service,
                weekday=weekday,
                start_time=start,
                end_time=end,
                slot_minutes=15,
                capacity=2,
                valid_from=timezone.localdate(),
            )
            for service in service_rows
            for weekday in range(5)
            for start, end in ((clock(9), clock(12, 30)), (clock(14), clock(17)))
        )
    started = time.perf_counter()
    created = schedules.generate_slots(weeks=8)
    generation = time.perf_counter() - started
    # Fill a share of the places (counters only: the search reads the counters).
    slot_ids = list(
        Slot.objects.filter(clinic__code__startswith=PREFIX).values_list("pk", flat=True)
    )
    full = rng.sample(slot_ids, int(len(slot_ids) * booked_share))
    Slot.objects.filter(pk__in=full).update(booked=F("capacity"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE booking_slot")
    user, _ = get_user_model().objects.get_or_create(
        username=f"{PREFIX}-resident", defaults={"email": f"{PREFIX}@bench.example"}
    )
    user.profile.street = street
    user.profile.save()
    return (
        service_rows[0],
        Clinic.objects.filter(code=f"{PREFIX}-0").get(),
        user,
        created,
        generation,
    )


def timed(fn, runs):
    fn()  # warm up caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[
        min(len(samples) - 1, round(0.95 * (len(samples) - 1)))
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinics", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--booked-share", type=float, default=0.5)
    args = parser.parse_args()

    if not settings.DEBUG:
        # Pages need the hashed static files when DEBUG is off.
        call_command("collectstatic", interactive=False, verbosity=0)
    service, clinic, user, created, generation = seed(args.clinics, args.booked_share)
    total = Slot.objects.filter(clinic__code__startswith=PREFIX).count()
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, DEBUG {settings.DEBUG}"
        f", load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{args.clinics} clinics, {total} slots ({created} generated in {generation:.1f} s)")
    user = get_user_model().objects.select_related("profile__street__community").get(pk=user.pk)

    def fourteen_days():
        now = timezone.now()
        return list(
            selectors.free_slots(now)
            .filter(service=service, start__lt=now + timedelta(days=14))
            .select_related("clinic")
            .order_by("start", "pk")
        )

    def fourteen_days_rows():
        now = timezone.now()
        return list(
            selectors.free_slots(now)
            .filter(service=service, start__lt=now + timedelta(days=14))
            .order_by("start", "pk")
            .values_list("pk", "clinic_id", "start", "end")
        )

    client = Client()
    client.force_login(user)

    def page():
        response = client.get(f"/clinics/service/{service.code}/")
        assert response.status_code == 200, response.status_code

    def day_page():
        response = client.get(f"/clinics/clinic/{clinic.pk}/{service.code}/")
        assert response.status_code == 200, response.status_code

    checks = [
        (
            "clinic list (next free per clinic)",
            lambda: selectors.clinics_for_service(service, user),
        ),
        (f"14-day search, models ({len(fourteen_days())} free slots)", fourteen_days),
        ("14-day search, rows (id, clinic, start, end)", fourteen_days_rows),
        ("day picker, one clinic", lambda: selectors.bookable_days(clinic, service)),
        ("page /clinics/service/<code>/", page),
        ("page /clinics/clinic/<id>/<code>/ (day picker and times)", day_page),
    ]
    for label, fn in checks:
        p50, p95 = timed(fn, args.runs)
        print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
