"""A rush of messages (the morning the vaccination slots open) asks the workers once a
NOTIFICATIONS_NUDGE_SECONDS per process, and that one task delivers every message recorded
while it waited. Against the test's own Redis, with the task read off the queue as a worker
would take it."""

import json
import logging
import time
from datetime import datetime

from django.core import mail
from django.db import transaction

import pytest

from portal.celery import app as celery_app
from portal.notifications.services import NUDGE_MARGIN_SECONDS
from tests.factories import UserFactory

from .kinds import note
from .test_outage import run_queued_tasks

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def record(user, subject):
    with transaction.atomic():
        return note(user, subject, "Body.")


def queued(broker):
    """The tasks waiting in the default queue: [(task name, eta as a UNIX time or None)]."""
    tasks = []
    for raw in broker.client().lrange(celery_app.conf.task_default_queue, 0, -1):
        headers = json.loads(raw)["headers"]
        eta = headers.get("eta")
        tasks.append((headers["task"], datetime.fromisoformat(eta).timestamp() if eta else None))
    return tasks


def test_a_rush_costs_one_task_that_delivers_every_message(broker, settings):
    settings.NOTIFICATIONS_NUDGE_SECONDS = 5  # the whole rush falls in one window
    user = UserFactory()
    asked = time.time()
    for n in range(5):
        record(user, f"Message {n}")
    [(name, eta)] = queued(broker)
    assert name == "portal.notifications.tasks.sweep_outbox"
    # Due after the window (and the margin for the workers' clocks): after every message of
    # the rush was committed.
    margin = NUDGE_MARGIN_SECONDS
    assert asked + 5 + margin <= eta <= time.time() + 5 + margin
    assert mail.outbox == []
    assert run_queued_tasks(celery_app) == 1
    assert sorted(m.subject for m in mail.outbox) == [f"Message {n}" for n in range(5)]


def test_after_the_window_the_next_message_asks_again(broker, settings):
    settings.NOTIFICATIONS_NUDGE_SECONDS = 0.2
    user = UserFactory()
    record(user, "First")
    assert len(queued(broker)) == 1
    time.sleep(0.3)  # the first nudge has run (or is running): it may not see what comes now
    record(user, "Second")
    assert len(queued(broker)) == 2
    assert run_queued_tasks(celery_app) == 2
    assert sorted(m.subject for m in mail.outbox) == ["First", "Second"]


def test_a_nudge_that_could_not_be_published_is_asked_for_by_the_next_message(
    broker, caplog, settings
):
    settings.NOTIFICATIONS_NUDGE_SECONDS = 5
    settings.REDIS_RETRY_SECONDS = 0  # try the broker again at once once it is back
    user = UserFactory()
    broker.stop()
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        during = record(user, "During the outage")
    assert "Could not queue delivery" in caplog.text
    broker.start()
    record(user, "After the outage")
    # Nothing was on its way, so this message asked; its sweep sends both.
    assert len(queued(broker)) == 1
    assert run_queued_tasks(celery_app) == 1
    assert sorted(m.subject for m in mail.outbox) == ["After the outage", "During the outage"]
    assert during.deliveries.get().attempts == 1


def test_a_nudge_is_due_after_its_window_and_asked_for_once_per_window(monkeypatch):
    """The rule, on a clock of the test's own: the task is due after the window and the margin
    for the workers' clocks, and no message of the window asks again."""
    from portal.notifications import services

    clock = [1000.0]
    published = []
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(
        services, "publish", lambda task, **options: published.append(options) or True
    )
    nudges = services._Nudges()
    assert nudges.ask(1.0)
    assert published == [{"countdown": 1.0 + services.NUDGE_MARGIN_SECONDS}]
    clock[0] += 0.99  # the last message of the window: the nudge on its way runs after it
    assert nudges.ask(1.0) and len(published) == 1
    clock[0] += 0.01  # the window is over: the nudge may already have looked
    assert nudges.ask(1.0) and len(published) == 2


def test_a_failed_publish_is_not_taken_for_a_nudge_on_its_way(monkeypatch):
    from portal.notifications import services

    answers = [False, True]
    monkeypatch.setattr(services, "publish", lambda task, **options: answers.pop(0))
    nudges = services._Nudges()
    assert not nudges.ask(1.0)
    assert nudges.ask(1.0)  # at once, not a window later
    assert answers == []
