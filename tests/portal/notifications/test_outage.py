"""Redis goes away while a resident's message is recorded; nothing is lost, nothing doubled.

Runs its own redis-server on a free port, so stopping it disturbs nobody else.
"""

import logging

from django.core import mail
from django.db import transaction

import pytest

from portal.celery import app as celery_app
from portal.notifications import tasks
from portal.notifications.models import Delivery
from tests.factories import UserFactory

from .kinds import note

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def run_queued_tasks(app):
    """Do what a worker does: take each task from the default queue and run it. Returns count."""
    count = 0
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    return count
                args, kwargs, _embed = message.payload
                app.tasks[message.headers["task"]].apply(args=args, kwargs=kwargs)
                message.ack()
                count += 1
        finally:
            queue.close()


def record(user, subject):
    with transaction.atomic():
        return note(user, subject, "Body.")


def test_message_recorded_while_redis_is_down_is_delivered_once_later(broker, caplog, settings):
    # A publish that failed makes this process skip Redis for REDIS_RETRY_SECONDS; here it
    # tries again at once, so the last step shows publishing works again after the restart.
    settings.REDIS_RETRY_SECONDS = 0
    # A task per message, at once (test_nudges.py has the rush, one task a second).
    settings.NOTIFICATIONS_NUDGE_SECONDS = 0
    user = UserFactory()

    # Redis up: the delivery task goes to *this* Redis and a worker would send it.
    before = record(user, "Before the outage")
    assert broker.client().llen(celery_app.conf.task_default_queue) == 1
    assert run_queued_tasks(celery_app) == 1
    assert [m.subject for m in mail.outbox] == ["Before the outage"]

    broker.stop()
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        during = record(user, "During the outage")  # must not raise
    assert "Could not queue delivery" in caplog.text
    delivery = during.deliveries.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 0
    assert [m.subject for m in mail.outbox] == ["Before the outage"]

    broker.start()  # empty: the task for "during" was never published
    assert run_queued_tasks(celery_app) == 0
    tasks.sweep_outbox.apply()
    tasks.sweep_outbox.apply()
    assert [m.subject for m in mail.outbox] == ["Before the outage", "During the outage"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 1

    # Publishing works again once Redis is back: the pool reconnects by itself.
    after = record(user, "After the outage")
    assert run_queued_tasks(celery_app) == 1
    assert [m.subject for m in mail.outbox] == [
        "Before the outage",
        "During the outage",
        "After the outage",
    ]
    for message in (before, during, after):
        assert message.deliveries.get().status == Delivery.Status.SENT
