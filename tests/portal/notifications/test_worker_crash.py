"""A Celery worker killed with `kill -9` while sending loses no e-mail and doubles none.

Issue 10 §2: deliveries claimed by a worker that died stayed "sending" and were then marked
failed, never sent. Here a real worker process (celery worker, solo pool) delivers from the
test's own Redis to the test database; its e-mail backend holds one message until the test
has killed the worker. Once the lease has run out, the sweep sends that message; every
message must arrive exactly once.
"""

import email
import os
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

import pytest

from portal.celery import app as celery_app
from portal.notifications.delivery import sweep_outbox
from portal.notifications.models import Delivery
from tests.factories import UserFactory

from .kinds import note
from .test_outage import run_queued_tasks

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2
WAIT_SECONDS = 90  # bounds every wait on the worker; it normally takes a few seconds


def wait_for(condition, what, process=None, log=None):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:] if log else ''}")
        time.sleep(0.05)


def arrived(mail_dir):
    """Message-ID and subject of every e-mail the backend finished writing, in any process."""
    found = []
    for path in sorted(Path(mail_dir).glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append((parsed["Message-ID"], parsed["Subject"]))
    return found


def start_worker(broker_url, mail_dir, gate_dir, log):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "DEBUG": "true",
        "EMAIL_BACKEND": "tests.portal.notifications.backends.FileGateEmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PORTAL_TEST_MAIL_GATE": str(gate_dir),
        "PORTAL_BASE_URL": django_settings.PORTAL_BASE_URL,
        "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    env.pop("CELERY_BROKER_WRITE_URL", None)
    return subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "portal.celery", "worker",
            "--pool=solo", "--concurrency=1", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel=INFO",
            "-Q", celery_app.conf.task_default_queue,
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as one
    )  # fmt: skip


@pytest.fixture
def worker_dirs(tmp_path, monkeypatch, settings):
    mail_dir, gate_dir = tmp_path / "mail", tmp_path / "gate"
    mail_dir.mkdir()
    gate_dir.mkdir()
    # The test process sends through the same backend and directory as the worker.
    settings.EMAIL_BACKEND = "tests.portal.notifications.backends.FileGateEmailBackend"
    settings.EMAIL_FILE_PATH = str(mail_dir)
    settings.NOTIFICATIONS_LEASE_SECONDS = LEASE_SECONDS
    monkeypatch.setenv("PORTAL_TEST_MAIL_GATE", str(gate_dir))
    return mail_dir, gate_dir, tmp_path / "worker.log"


def test_worker_killed_mid_delivery_loses_no_email_and_doubles_none(broker, worker_dirs):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share with the test")
    mail_dir, gate_dir, log = worker_dirs
    user = UserFactory()
    subjects = [f"Message {n}" for n in range(1, 6)]
    subjects[2] = "Message 3 [hold]"
    messages = []
    for subject in subjects:
        with transaction.atomic():  # published to the test's Redis after each commit
            messages.append(note(user, subject, "Body."))
    held = messages[2].deliveries.get()

    worker = start_worker(broker.url, mail_dir, gate_dir, log)
    try:
        entered = (gate_dir / "entered").exists
        wait_for(entered, "the worker to start the held delivery", worker, log)
        held.refresh_from_db()
        assert held.status == Delivery.Status.SENDING
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=WAIT_SECONDS)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=WAIT_SECONDS)
    (gate_dir / "open").touch()

    sent_before_the_crash = len(arrived(mail_dir))
    assert sent_before_the_crash == 2, log.read_text()[-3000:]
    held.refresh_from_db()
    assert held.status == Delivery.Status.SENDING  # the dead worker recorded nothing

    # While the lease runs, the sweep leaves the held delivery alone (its worker might only be
    # slow) and sends what the dead worker never reached.
    first = sweep_outbox()
    assert (first.reclaimed, first.sent) == (0, 2)
    held.refresh_from_db()
    assert held.status == Delivery.Status.SENDING

    wait_for(
        lambda: Delivery.objects.filter(pk=held.pk, lease_expires_at__lt=timezone.now()).exists(),
        "the lease to expire",
    )
    second = sweep_outbox()
    assert (second.reclaimed, second.sent) == (1, 1)

    # Whatever task is still queued (the dead worker's reserved one is not, until its
    # visibility timeout) finds nothing left to send.
    run_queued_tasks(celery_app)
    sweep_outbox()

    received = arrived(mail_dir)
    assert sorted(subject for _id, subject in received) == sorted(subjects)
    assert len({message_id for message_id, _subject in received}) == len(subjects)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    held.refresh_from_db()
    assert held.attempts == 2
