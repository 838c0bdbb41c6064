"""Delivering the outbox: claim a delivery, send it on its channel, record the result.

Plain functions; the Celery tasks (tasks.py) and the sweep call them. A message is sent at
most once per channel: every attempt first claims its row with one conditional UPDATE.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .channels import PermanentDeliveryError, get_channel
from .models import Delivery

__all__ = [
    "SweepResult",
    "attempt_delivery",
    "deliver_message",
    "fail_stale_deliveries",
    "sweep_outbox",
    "max_attempts",
    "retry_delay",
]

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 2000


@dataclass(frozen=True)
class SweepResult:
    attempted: int = 0
    sent: int = 0
    stale: int = 0


def _setting(name, default):
    return getattr(settings, name, default)


def max_attempts():
    return max(1, int(_setting("NOTIFICATIONS_MAX_ATTEMPTS", 8)))


def retry_delay(attempts):
    """How long to wait after the `attempts`-th failed attempt: doubling, with a ceiling."""
    base = _setting("NOTIFICATIONS_RETRY_BASE_SECONDS", 60)
    ceiling = _setting("NOTIFICATIONS_RETRY_MAX_SECONDS", 6 * 60 * 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def sending_timeout():
    # Far longer than any one send may take (EMAIL_TIMEOUT, an SMS gateway's HTTP timeout).
    return timedelta(seconds=_setting("NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", 15 * 60))


def _due(now):
    """Pending deliveries to send now.

    One never tried and not held is due at once, whatever the clocks say: the worker's clock
    may run a little behind the web server's that stamped it, and the task that follows the
    commit must not skip the message and leave it for the next sweep. A held delivery (a
    burst being merged: next_attempt_at set past its creation) and a retry wait for their time.
    """
    return Q(status=Delivery.Status.PENDING) & (
        Q(next_attempt_at__lte=now) | Q(attempts=0, next_attempt_at__lte=F("created_at"))
    )


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH]


def attempt_delivery(delivery_id, *, now=None):
    """Try to send one delivery if it is pending and due. Returns True if this call sent it.

    The claim is one conditional UPDATE (pending -> sending): of any number of workers, task
    retries and sweeps racing for the same row exactly one gets rowcount 1, and only that one
    sends. Call it outside a transaction, so the claim is committed (visible to the others)
    before the slow network call.
    """
    claimed_at = now or timezone.now()
    claimed = Delivery.objects.filter(_due(claimed_at), pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return False

    # The profile too: it says which language the recipient reads now.
    delivery = Delivery.objects.select_related("message__user__profile").get(pk=delivery_id)
    try:
        address = get_channel(delivery.channel).send(delivery.message)
    except PermanentDeliveryError as exc:
        logger.warning("Notification delivery %s cannot be sent: %s", delivery_id, exc)
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.FAILED, last_error=_error_text(exc)
        )
        return False
    except Exception as exc:
        give_up = delivery.attempts >= max_attempts()
        logger.warning(
            "Notification delivery %s failed (attempt %s%s)",
            delivery_id,
            delivery.attempts,
            ", giving up" if give_up else "",
            exc_info=True,
        )
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.FAILED if give_up else Delivery.Status.PENDING,
            next_attempt_at=claimed_at + retry_delay(delivery.attempts),
            last_error=_error_text(exc),
        )
        return False

    # Not conditional on "sending": if the stale check gave up on this row meanwhile, the
    # message did go out after all, and the record must say so.
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.SENT, sent_at=timezone.now(), address=address, last_error=""
    )
    return True


def deliver_message(message_id, *, now=None):
    """Send every pending, due delivery of one message. Returns how many this call sent."""
    due = Delivery.objects.filter(_due(now or timezone.now()), message_id=message_id)
    due = due.values_list("pk", flat=True)
    return sum(attempt_delivery(pk, now=now) for pk in list(due))


def fail_stale_deliveries(*, now=None):
    """Mark deliveries stuck in "sending" past the timeout as failed. Returns how many.

    A delivery stays in "sending" only when the worker died (or lost the database) between
    claiming it and recording the result. The e-mail server or SMS gateway may well have
    accepted the message before that, and there is no way to ask. Sending again could give
    the resident the same text twice, which breaks the at-most-once promise, so it is marked
    failed for staff to see instead. The resident still has the message in the inbox.
    """
    now = now or timezone.now()
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - sending_timeout()
    ).update(
        status=Delivery.Status.FAILED,
        last_error=(
            "Stuck in 'sending' (the worker stopped before recording the result); not resent "
            "because it may already have been delivered."
        ),
    )


def sweep_outbox(*, now=None, batch_size=None):
    """Deliver what is pending and due, oldest first; give up on stale "sending" rows.

    Run periodically (Celery beat). It is what delivers messages whose task was never
    published or never ran, and retries failed attempts once their backoff has passed.
    """
    stale = fail_stale_deliveries(now=now)
    batch_size = batch_size or _setting("NOTIFICATIONS_SWEEP_BATCH_SIZE", 500)
    due = (
        Delivery.objects.filter(_due(now or timezone.now()))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    due = list(due)
    sent = sum(attempt_delivery(pk, now=now) for pk in due)
    return SweepResult(attempted=len(due), sent=sent, stale=stale)
