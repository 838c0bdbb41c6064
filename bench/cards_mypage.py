"""My page with 20 cases and a card application (issue 13): the query count must not depend on
the number of cases or on the resident's card history; p50 and p95 through the full Django
stack (test client, DEBUG off), and the card panel's own queries and time rendered alone.

Runs:
- 20 open cases and no card application;
- 20 open cases and one submitted card application;
- the same plus 10 earlier applications, each collected with its card later reported lost.

Not a test: run it by hand against a database of its own (migrated; static files collected
because DEBUG is off), e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_cards SECRET_KEY=bench-only \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=… SECRET_KEY=bench-only .venv/bin/python manage.py collectstatic --no-input
    DATABASE_URL=… SECRET_KEY=bench-only CARDS_FILES_ROOT=var/bench-card-files \\
        .venv/bin/python bench/cards_mypage.py

Results go in docs/benchmarks.md.
"""

import argparse
import io
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from PIL import Image  # noqa: E402

from portal.cards import photos, services  # noqa: E402
from portal.cards.models import Card, CardApplication, CardState  # noqa: E402
from portal.cards.panels import CardPanel  # noqa: E402
from portal.cases import services as cases  # noqa: E402
from portal.cases.models import Case, CaseState, Office, Service  # noqa: E402
from portal.workcalendar.services import seed_year  # noqa: E402

EMAIL = "cards-mypage@bench.example"


def p95(values):
    values = sorted(values)
    return values[max(0, int(round(0.95 * len(values))) - 1)]


def user(email, **extra):
    User = get_user_model()
    found = User.objects.filter(email=email).first()
    return found or User.objects.create_user(
        username=email, email=email, password="bench-pass", **extra
    )


def photo():
    buffer = io.BytesIO()
    Image.new("RGB", (480, 600), (200, 180, 160)).save(buffer, format="JPEG")
    upload = SimpleUploadedFile("photo.jpg", buffer.getvalue(), "image/jpeg")
    return upload, photos.check_photo(upload)


def data(office):
    return {
        "full_name": "Bench Resident",
        "date_of_birth": date(1980, 1, 1),
        "id_number": "A1234563",
        "phone": "",
        "street": None,
        "address": "",
        "collection_point": office,
    }


def seed(resident):
    office, _ = Office.objects.get_or_create(
        code="CARDB",
        defaults={
            "kind": Office.Kind.DEPARTMENT,
            "name_zh_hant": "基準服務中心",
            "name_zh_hans": "基准服务中心",
            "name_en": "Bench service centre",
        },
    )
    service, _ = Service.objects.get_or_create(
        code="cards-bench",
        defaults={
            "office": office,
            "name_zh_hant": "服務",
            "name_zh_hans": "服务",
            "name_en": "Service",
            "promised_days": 10,
        },
    )
    Case.objects.filter(applicant=resident).delete()
    Card.objects.filter(holder=resident).delete()
    CardApplication.objects.filter(applicant=resident).delete()
    today = timezone.localdate()
    for index in range(20):
        case = Case.objects.create(
            service=service,
            office=office,
            applicant=resident,
            state=CaseState.SUBMITTED,
            reference=f"CARDB-{today.year}-{index + 1:06d}",
            received_on=today,
        )
        cases.refresh_due_date(case)
    admin = user("cards-admin@bench.example", is_superuser=True, is_staff=True)
    return office, admin


def measure(client, runs):
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


def panel_alone(resident, runs):
    request = RequestFactory().get("/me/")
    request.user = resident
    panel = CardPanel()
    with CaptureQueriesContext(connection) as captured:
        panel.render(request)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        panel.render(request)
        timings.append((time.perf_counter() - start) * 1000)
    return len(captured), p95(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    year = timezone.localdate().year
    for y in (year, year + 1):
        seed_year(y, confirm=True)
    resident = user(EMAIL)
    office, admin = seed(resident)
    client = Client()
    client.force_login(resident)

    def report(label):
        queries, median, high = measure(client, args.runs)
        panel_queries, panel_high = panel_alone(resident, args.runs)
        print(
            f"{label}: My page {queries} queries, p50 {median:.0f} ms, p95 {high:.0f} ms; "
            f"card panel alone {panel_queries} queries, p95 {panel_high:.1f} ms"
        )

    report("20 cases, no card application")
    current = services.start(resident, data(office), photo())
    services.submit(current, by=resident)
    report("20 cases, 1 submitted card application")
    services.withdraw(current, by=resident)
    for _ in range(10):
        application = services.start(resident, data(office), photo())
        services.submit(application, by=resident)
        services.approve(application, by=admin)
        batch = services.create_batch(office, [application], by=admin)
        services.mark_batch_ready(batch, by=admin)
        application.refresh_from_db()
        services.record_collection(application, by=admin)
        card = Card.objects.get(application=application)
        if card.state == CardState.ACTIVE:
            services.report_lost(card, by=resident)
        replacement = services.open_application(resident)
        if replacement is not None:
            services.withdraw(replacement, by=resident)
    current = services.start(resident, data(office), photo())
    services.submit(current, by=resident)
    report("20 cases, 1 submitted card application after 10 lost cards")


if __name__ == "__main__":
    main()
