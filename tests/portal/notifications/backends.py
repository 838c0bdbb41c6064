"""E-mail and SMS backends that misbehave on purpose, named by dotted path in settings."""

import os
import smtplib
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend

from portal.notifications.sms import BaseSMSBackend


class BrokenEmailBackend(EmailBackend):
    """The mail server is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("451 mail server unavailable, try later")


class FailOnceEmailBackend(EmailBackend):
    """Fails the first `failures` sends after reset(), then delivers to mail.outbox."""

    failures_left = 0

    @classmethod
    def reset(cls, failures=1):
        cls.failures_left = failures

    def send_messages(self, email_messages):
        if FailOnceEmailBackend.failures_left > 0:
            FailOnceEmailBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("451 temporary failure")
        return super().send_messages(email_messages)


class GateEmailBackend(EmailBackend):
    """Holds every send until the test opens the gate, so racing workers overlap for sure."""

    gate = threading.Event()
    entered = threading.Event()
    lock = threading.Lock()
    senders = 0

    @classmethod
    def reset(cls):
        cls.gate = threading.Event()
        cls.entered = threading.Event()
        cls.senders = 0

    def send_messages(self, email_messages):
        with GateEmailBackend.lock:
            GateEmailBackend.senders += 1
        GateEmailBackend.entered.set()
        GateEmailBackend.gate.wait(timeout=60)
        return super().send_messages(email_messages)


class BrokenSMSBackend(BaseSMSBackend):
    def send(self, phone, text):
        raise ConnectionError("SMS gateway unreachable")


class FileGateEmailBackend(EmailBackend):
    """Shared by separate processes (a real Celery worker and the test): each message is written
    to its own file in EMAIL_FILE_PATH, so the test can count what arrived, once the send has
    finished. A message whose subject contains "[hold]" is held first, while the file "open" is
    missing from the directory in PORTAL_TEST_MAIL_GATE: the backend touches "entered" there
    and waits, so a test can kill the worker in the middle of that delivery."""

    def send_messages(self, email_messages):
        gate = Path(os.environ["PORTAL_TEST_MAIL_GATE"])
        outbox = Path(settings.EMAIL_FILE_PATH)
        for email in email_messages:
            if "[hold]" in email.subject:
                (gate / "entered").touch()
                deadline = time.monotonic() + 120  # a worker left behind gives up by itself
                while not (gate / "open").exists():
                    if time.monotonic() > deadline:
                        raise TimeoutError("the test never opened the gate")
                    time.sleep(0.05)
            partial = outbox / f".{uuid.uuid4().hex}.tmp"
            partial.write_bytes(email.message().as_bytes())
            partial.rename(outbox / f"{uuid.uuid4().hex}.eml")  # whole files only
        return len(email_messages)
