"""Celery tasks: thin wrappers; the rules are in delivery.py.

Both are safe to run twice or concurrently (acks_late redelivery, overlapping sweeps): every
delivery is claimed with a conditional UPDATE before it is sent. This module imports only
delivery.py, which never imports services.py, so there is no import cycle: services.py
publishes these tasks, and the tasks call delivery.
"""

import logging

from celery import shared_task

from . import delivery

logger = logging.getLogger(__name__)


@shared_task(name="portal.notifications.tasks.deliver_message", ignore_result=True)
def deliver_message(message_id):
    delivery.deliver_message(message_id)


@shared_task(name="portal.notifications.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox():
    result = delivery.drain_outbox()
    if result.attempted or result.abandoned:
        logger.info(
            "Notification sweep: %s attempted (%s left by a stopped worker), %s sent, %s given up",
            result.attempted,
            result.reclaimed,
            result.sent,
            result.abandoned,
        )
