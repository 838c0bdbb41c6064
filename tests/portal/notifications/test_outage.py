"""Redis goes away while a resident's message is recorded; nothing is lost, nothing doubled.

Runs its own redis-server on a free port, so stopping it disturbs nobody else.
"""

import logging
import os
import shutil
import socket
import subprocess
import time

from django.core import mail
from django.db import transaction

import kombu.pools
import pytest
import redis

from portal.celery import app as celery_app
from portal.notifications import tasks
from portal.notifications.models import Delivery
from tests.factories import UserFactory

from .kinds import note

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server: no persistence, so a restart starts empty."""

    def __init__(self, executable, port):
        self.executable = executable
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(200):  # ready in milliseconds; the bound only stops a hang
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self):
        return redis.Redis(port=self.port)


@pytest.fixture
def redis_server():
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(executable, free_port())
    server.start()
    yield server
    server.stop()


def reset_broker_connections(app):
    """Drop cached broker connections so the next publish uses app.conf.broker_url.

    Celery keeps a connection pool (app.pool) and a producer pool (app.amqp.producer_pool),
    both built from the broker URL on first use, so changing the URL alone would keep
    publishing to the old broker. The pools themselves live in kombu's process-wide
    registry, keyed by URL: closing one without clearing the registry would hand the next
    user of that URL a closed pool ("Acquire on closed pool").
    """
    kombu.pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def broker(redis_server, monkeypatch, celery_eager):
    """The portal's Celery app publishing to `redis_server`, for real (not eagerly)."""
    # These environment variables win over app.conf.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    conf = celery_app.conf
    saved = {
        "task_always_eager": conf.task_always_eager,
        "broker_url": conf.broker_url,
        "broker_transport_options": conf.broker_transport_options,
    }
    conf.task_always_eager = False
    conf.broker_url = redis_server.url
    conf.broker_transport_options = {"visibility_timeout": 3600}
    reset_broker_connections(celery_app)
    yield redis_server
    for name, value in saved.items():
        setattr(conf, name, value)
    reset_broker_connections(celery_app)


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


def test_message_recorded_while_redis_is_down_is_delivered_once_later(broker, caplog):
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
