"""A frozen Redis (paused: it accepts connections but never answers) must not hold up the site.

Issue 10 §1: every booking, cancellation, staff slot closure and even the home page hung for
60 s. Here Redis is
both the cache and the broker, as in production; the test freezes its own redis-server and
measures that each request answers within a second, then that nothing was lost: the
notifications that could not be queued are delivered by the sweep once Redis is back.
"""

import logging
import time

from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import rules
from health.booking.models import Appointment, AppointmentStatus, SlotStatus
from portal.notifications.delivery import sweep_outbox
from portal.notifications.models import Delivery
from tests.factories import UserFactory
from tests.health.booking.conftest import make_staff
from tests.health.booking.factories import ClinicFactory, ServiceFactory, SlotFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

BOUND = 1.0  # seconds: the "within a second"


@pytest.fixture
def redis_everywhere(broker, settings):
    """Cache and broker on the test's own Redis, with the production fallback for the cache."""
    settings.SECURE_SSL_REDIRECT = False
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": broker.url,
            "OPTIONS": {
                "socket_connect_timeout": settings.REDIS_TIMEOUT_SECONDS,
                "socket_timeout": settings.REDIS_TIMEOUT_SECONDS,
            },
            "FALLBACK": "database",
        },
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_frozen_test",
        },
    }
    call_command("createcachetable")
    cache.set("warm", 1)  # connections open before the freeze, as in a running server
    assert broker.client().get(":1:warm") is not None
    return broker


def timed(make_request, django_capture_on_commit_callbacks):
    """Run one request with its after-commit work (publishing), as a real request would."""
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = make_request()
    return response, time.monotonic() - started


def test_booking_cancelling_closing_and_the_home_page_answer_while_redis_is_frozen(
    redis_everywhere, client, caplog, django_capture_on_commit_callbacks
):
    service = ServiceFactory(code="general")
    clinic = ClinicFactory(services=[service])
    slot = SlotFactory(clinic=clinic, service=service, capacity=2)
    resident = UserFactory()
    client.force_login(resident)
    # Warm up as a running server is (templates loaded, connections open): one booking and
    # its cancellation, and the home page, while Redis answers.
    warm_up = SlotFactory(
        clinic=clinic, service=service, capacity=2, start=slot.start.replace(hour=8)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("booking:book", args=[warm_up.pk]), {"person": "self"})
        client.post(
            reverse("booking:cancel", args=[Appointment.objects.get(slot=warm_up).pk]),
            {"reason": "Warming up"},
        )
        client.get("/")
    # A place someone holds, in a slot the nurse will close during the freeze.
    closing = SlotFactory(clinic=clinic, service=service, start=slot.start.replace(hour=11))
    with django_capture_on_commit_callbacks(execute=True):
        rules.book(UserFactory(), closing)
    nurse = Client()
    nurse.force_login(make_staff(clinic))
    day_list = reverse("booking_day_list")
    day = timezone.localdate(closing.start).isoformat()
    assert nurse.get(day_list, {"clinic": clinic.pk, "day": day}).status_code == 200
    mail.outbox.clear()
    Delivery.objects.all().delete()

    redis_everywhere.freeze()
    with caplog.at_level(logging.WARNING):
        book, book_seconds = timed(
            lambda: client.post(reverse("booking:book", args=[slot.pk]), {"person": "self"}),
            django_capture_on_commit_callbacks,
        )
        appointment = Appointment.objects.get(slot=slot)
        cancel, cancel_seconds = timed(
            lambda: client.post(
                reverse("booking:cancel", args=[appointment.pk]), {"reason": "Feeling better"}
            ),
            django_capture_on_commit_callbacks,
        )
        home, home_seconds = timed(lambda: client.get("/"), django_capture_on_commit_callbacks)
        close, close_seconds = timed(
            lambda: nurse.post(
                day_list,
                {
                    "clinic": clinic.pk,
                    "day": day,
                    "action": "close_slot",
                    "slot": closing.pk,
                    "reason": "Doctor ill",
                },
            ),
            django_capture_on_commit_callbacks,
        )

    statuses = (book.status_code, cancel.status_code, home.status_code, close.status_code)
    assert statuses == (302, 302, 200, 302)
    assert book_seconds < BOUND, book_seconds
    assert cancel_seconds < BOUND, cancel_seconds
    assert home_seconds < BOUND, home_seconds
    assert close_seconds < BOUND, close_seconds
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    closing.refresh_from_db()
    assert closing.status == SlotStatus.CLOSED
    # Redis really was asked, and given up on: nothing went to the broker.
    assert "is not answering" in caplog.text
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}
    assert mail.outbox == []

    # Redis back: the sweep delivers the three messages (booked, cancelled, closed), each once.
    redis_everywhere.thaw()
    sweep_outbox()
    sweep_outbox()
    subjects = sorted(message.subject for message in mail.outbox)
    assert len(subjects) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_frozen_redis_costs_one_timeout_per_process_not_one_per_call(redis_everywhere, settings):
    settings.REDIS_RETRY_SECONDS = 30
    redis_everywhere.freeze()
    started = time.monotonic()
    for n in range(20):
        cache.set(f"k{n}", n)
        assert cache.get(f"k{n}") == n  # from the database table
    elapsed = time.monotonic() - started
    # 40 calls: the first waits for the socket timeout, the rest skip Redis.
    assert elapsed < settings.REDIS_TIMEOUT_SECONDS + BOUND, elapsed
