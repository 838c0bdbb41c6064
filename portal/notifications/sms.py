"""SMS backends. settings.SMS_BACKEND names the class; the portal only ever calls `send`.

A real gateway adapter subclasses BaseSMSBackend and raises on any failure, so the delivery is
retried with backoff. It must not swallow errors: a swallowed error is a lost message.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Messages "sent" by LocmemSMSBackend, like django.core.mail.outbox for e-mail.
outbox = []


class BaseSMSBackend:
    def send(self, phone, text):
        """Send `text` to `phone` (digits, optionally starting with +). Raise on failure."""
        raise NotImplementedError


class LogSMSBackend(BaseSMSBackend):
    """The embedded default: no gateway, the text goes to the log for a developer to read."""

    def send(self, phone, text):
        logger.info("SMS to %s:\n%s", phone, text)


class LocmemSMSBackend(BaseSMSBackend):
    """Keeps messages in `portal.notifications.sms.outbox`, for tests."""

    def send(self, phone, text):
        outbox.append({"phone": phone, "text": text})


def get_sms_backend():
    return import_string(settings.SMS_BACKEND)()
