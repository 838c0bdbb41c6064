"""E-mail and SMS backends that misbehave on purpose, named by dotted path in settings."""

import smtplib
import threading

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
