"""Celery tasks: thin wrappers; the rules are in services.py.

Both are safe to run twice or concurrently (acks_late redelivery, overlapping sweeps): every
delivery is claimed with a conditional UPDATE before it is sent.
"""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="portal.notifications.tasks.deliver_message", ignore_result=True)
def deliver_message(message_id):
    services.deliver_message(message_id)


@shared_task(name="portal.notifications.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox():
    result = services.sweep_outbox()
    if result.attempted or result.stale:
        logger.info(
            "Notification sweep: %s attempted, %s sent, %s stale marked failed",
            result.attempted,
            result.sent,
            result.stale,
        )
