"""The e-mail backend of bench/soak.py: a mail server that takes a moment to accept a message.

Each message is written to its own file in EMAIL_FILE_PATH after SOAK_MAIL_DELAY seconds
(an SMTP exchange takes about that long), so soak.py can count what arrived and find
duplicates by Message-ID. While a process is sending, a file named after its pid exists in
SOAK_MAIL_SENDING: soak.py kills a Celery worker process exactly then, in mid-delivery.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class SlowFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        outbox = Path(settings.EMAIL_FILE_PATH)
        sending = Path(os.environ["SOAK_MAIL_SENDING"]) / str(os.getpid())
        delay = float(os.environ.get("SOAK_MAIL_DELAY", "0.3"))
        for email in email_messages:
            sending.touch()
            try:
                time.sleep(delay)
                partial = outbox / f".{uuid.uuid4().hex}.tmp"
                partial.write_bytes(email.message().as_bytes())
                partial.rename(outbox / f"{uuid.uuid4().hex}.eml")  # whole files only
            finally:
                sending.unlink(missing_ok=True)
        return len(email_messages)
