"""Celery tasks: thin wrappers; the rules are in delivery.py.

Both are safe to run twice or concurrently (acks_late redelivery, overlapping sweeps): every
delivery is claimed with a conditional UPDATE before it is sent. This module imports only
delivery.py, which never imports services.py, so there is no import cycle: services.py
publishes these tasks, and the tasks call delivery.
"""

import logging

from django.conf import settings

from celery import shared_task

from . import delivery

logger = logging.getLogger(__name__)


@shared_task(name="portal.notifications.tasks.deliver_message", ignore_result=True)
def deliver_message(message_id):
    delivery.deliver_message(message_id)


# Batches one sweep task takes before it leaves the rest to the next (beat's, or a nudge).
# A sweep running long is harmless: a delivery is claimed before it is sent, and a task handed
# out again after the broker's visibility timeout finds its deliveries taken.
MAX_BATCHES = 20


@shared_task(name="portal.notifications.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox():
    """Deliver what is due, batch after batch while batches come back full: the nudge after
    a rush must not leave all but the first batch for beat's next sweep."""
    batch_size = getattr(settings, "NOTIFICATIONS_SWEEP_BATCH_SIZE", 500)
    for _batch in range(MAX_BATCHES):
        result = delivery.sweep_outbox(batch_size=batch_size)
        _log(result)
        if result.attempted < batch_size:
            return


def _log(result):
    if result.attempted or result.abandoned:
        logger.info(
            "Notification sweep: %s attempted (%s left by a stopped worker), %s sent, %s given up",
            result.attempted,
            result.reclaimed,
            result.sent,
            result.abandoned,
        )
