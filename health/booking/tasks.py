"""Periodic booking work. Thin wrappers: the rules are in schedules.py, notifications.py and
waitlists.py, and each is safe to run twice (idempotent generation, conditional updates for
reminders and offer expiry)."""

import logging

from celery import shared_task

from . import notifications, schedules, waitlists

logger = logging.getLogger(__name__)


@shared_task(name="health.booking.tasks.generate_slots")
def generate_slots():
    """Keep BOOKING_GENERATE_WEEKS of slots ahead for every active schedule."""
    created = schedules.generate_slots()
    logger.info("Generated %s clinic slots", created)
    return created


@shared_task(name="health.booking.tasks.send_reminders")
def send_reminders():
    """Remind residents of tomorrow's appointments (after BOOKING_REMINDER_TIME)."""
    return notifications.send_reminders()


@shared_task(name="health.booking.tasks.expire_waitlist_offers")
def expire_waitlist_offers():
    """Pass unanswered waitlist offers to the next person in line."""
    return waitlists.expire_offers()
