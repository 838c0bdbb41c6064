"""Delivering the outbox: claim a delivery, send it on its channel, record the result.

Plain functions; the Celery tasks (tasks.py) and the sweep call them. A message is sent at
most once per channel at a time: every attempt first claims its row with one conditional
UPDATE, which also gives the claimer a lease (`lease_expires_at`). A worker that dies while
sending (kill -9, out of memory, the machine restarted) never records a result; once its
lease has expired the sweep claims the row again and sends it, so no message is lost.
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
    "fail_abandoned_deliveries",
    "lease_duration",
    "sweep_outbox",
    "drain_outbox",
    "max_attempts",
    "retry_delay",
]

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 2000


@dataclass(frozen=True)
class SweepResult:
    attempted: int = 0
    sent: int = 0
    reclaimed: int = 0  # of `attempted`: found abandoned, their worker's lease expired
    abandoned: int = 0  # marked failed: their workers died on every attempt


def _setting(name, default):
    return getattr(settings, name, default)


def max_attempts():
    return max(1, int(_setting("NOTIFICATIONS_MAX_ATTEMPTS", 8)))


def sweep_batch_size():
    return max(1, int(_setting("NOTIFICATIONS_SWEEP_BATCH_SIZE", 500)))


def retry_delay(attempts):
    """How long to wait after the `attempts`-th failed attempt: doubling, with a ceiling."""
    base = _setting("NOTIFICATIONS_RETRY_BASE_SECONDS", 60)
    ceiling = _setting("NOTIFICATIONS_RETRY_MAX_SECONDS", 6 * 60 * 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def lease_duration():
    """How long a claim holds a delivery. Far longer than any one send may take (EMAIL_TIMEOUT
    per SMTP step, an SMS gateway's HTTP timeout): a lease that ran out while its worker was
    still sending would let a second worker send the same message."""
    return timedelta(seconds=_setting("NOTIFICATIONS_LEASE_SECONDS", 5 * 60))


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


def _abandoned(now):
    """Claimed by a worker whose lease has expired without a result: it died while sending."""
    return Q(status=Delivery.Status.SENDING, lease_expires_at__lte=now)


def _claimable(now):
    """Rows a worker may claim now: pending and due, or abandoned with attempts left."""
    return _due(now) | (_abandoned(now) & Q(attempts__lt=max_attempts()))


def _error_text(exc):
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH]


# attempt_delivery()'s default: the caller did not find the delivery abandoned. Not None: a row
# the code before leases left "sending" has no claim time, and is abandoned all the same.
NOT_ABANDONED = object()


def attempt_delivery(delivery_id, *, now=None, abandoned_at=NOT_ABANDONED):
    """Try to send one delivery if it is pending and due, or abandoned by a dead worker.
    Returns True if this call sent it. A sweep that found it abandoned passes the dead
    worker's claim time, `abandoned_at`, for the log: only the caller whose claim wins says
    that it sends the delivery again, not every sweep that saw it waiting.

    The claim is one conditional UPDATE (-> sending, with a lease): of any number of workers,
    task retries and sweeps racing for the same row exactly one gets rowcount 1, and only that
    one sends. Call it outside a transaction, so the claim is committed (visible to the
    others) before the slow network call. The claim's time is its token: a worker whose lease
    was taken over records a failure only if the row is still its own.
    """
    claimed_at = now or timezone.now()
    # The lease runs from the real time of the claim: a long sweep passes the `now` it started
    # with, and a lease counted from then could have run out before the send began.
    lease_from = max(claimed_at, timezone.now())
    claimed = Delivery.objects.filter(_claimable(claimed_at), pk=delivery_id).update(
        status=Delivery.Status.SENDING,
        claimed_at=claimed_at,
        lease_expires_at=lease_from + lease_duration(),
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return False
    if abandoned_at is not NOT_ABANDONED:
        logger.warning(
            "Notification delivery %s: the worker that claimed it at %s stopped before "
            "recording a result; sending it again.",
            delivery_id,
            abandoned_at,
        )
    still_mine = Q(pk=delivery_id, status=Delivery.Status.SENDING, claimed_at=claimed_at)

    # The profile too: it says which language the recipient reads now.
    delivery = Delivery.objects.select_related("message__user__profile").get(pk=delivery_id)
    try:
        address = get_channel(delivery.channel).send(delivery.message)
    except PermanentDeliveryError as exc:
        logger.warning("Notification delivery %s cannot be sent: %s", delivery_id, exc)
        Delivery.objects.filter(still_mine).update(
            status=Delivery.Status.FAILED, lease_expires_at=None, last_error=_error_text(exc)
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
        Delivery.objects.filter(still_mine).update(
            status=Delivery.Status.FAILED if give_up else Delivery.Status.PENDING,
            lease_expires_at=None,
            next_attempt_at=claimed_at + retry_delay(delivery.attempts),
            last_error=_error_text(exc),
        )
        return False

    # Not conditional on the lease: whoever holds the row now, the message did go out, and
    # the record must say so.
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        lease_expires_at=None,
        address=address,
        last_error="",
    )
    return True


def deliver_message(message_id, *, now=None):
    """Send every pending, due delivery of one message. Returns how many this call sent."""
    due = Delivery.objects.filter(_due(now or timezone.now()), message_id=message_id)
    due = due.values_list("pk", flat=True)
    return sum(attempt_delivery(pk, now=now) for pk in list(due))


def fail_abandoned_deliveries(*, now=None):
    """Give up on deliveries whose worker died on every one of the allowed attempts.

    A message that kills its worker each time (one that exhausts memory, say) would otherwise
    be claimed again forever. Returns how many were marked failed.
    """
    now = now or timezone.now()
    return Delivery.objects.filter(_abandoned(now), attempts__gte=max_attempts()).update(
        status=Delivery.Status.FAILED,
        lease_expires_at=None,
        last_error=(
            "The worker stopped while sending, on every attempt (its lease expired without a "
            "result); given up."
        ),
    )


def sweep_outbox(*, now=None, batch_size=None):
    """Deliver what is pending and due, and what dead workers left in "sending", oldest first.

    Run periodically (Celery beat), and as the nudge a process publishes after recording
    messages (services._Nudges), so it is also the usual way a message goes out. It delivers
    messages whose task was never published or never ran, retries failed attempts once their
    backoff has passed, and sends again the deliveries whose worker died before recording a
    result (lease expired).

    That last case is the one place a message can go out twice: the worker may have died
    after the mail server accepted the message and before the row said so, and there is no
    way to ask. Losing the message would be worse; the e-mail carries the same Message-ID
    both times (channels.py), so mail systems that notice duplicates can drop the second.
    """
    now = now or timezone.now()
    abandoned = fail_abandoned_deliveries(now=now)
    batch_size = batch_size or sweep_batch_size()
    # Two queries, so that each can use its own partial index.
    orphans = dict(
        Delivery.objects.filter(_abandoned(now), attempts__lt=max_attempts())
        .order_by("lease_expires_at", "pk")
        .values_list("pk", "claimed_at")[:batch_size]
    )
    due = list(orphans) + list(
        Delivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: batch_size - len(orphans)]
    )
    sent = sum(
        attempt_delivery(pk, now=now, abandoned_at=orphans.get(pk, NOT_ABANDONED)) for pk in due
    )
    return SweepResult(attempted=len(due), sent=sent, reclaimed=len(orphans), abandoned=abandoned)


# Batches one drain takes before it leaves the rest to the next (beat's, or a nudge). A drain
# running long is harmless: a delivery is claimed before it is sent, and a task handed out
# again after the broker's visibility timeout finds its deliveries taken.
MAX_BATCHES = 20


def drain_outbox(*, max_batches=MAX_BATCHES):
    """sweep_outbox() batch after batch while batches come back full, so the nudge after a
    rush does not leave all but the first batch for beat's next sweep. Returns the totals."""
    batch_size = sweep_batch_size()
    total = SweepResult()
    for _batch in range(max_batches):
        result = sweep_outbox(batch_size=batch_size)
        total = SweepResult(
            attempted=total.attempted + result.attempted,
            sent=total.sent + result.sent,
            reclaimed=total.reclaimed + result.reclaimed,
            abandoned=total.abandoned + result.abandoned,
        )
        if result.attempted < batch_size:
            break
    return total
