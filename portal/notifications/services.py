"""Notifications: record a message for a user, then deliver it on the channels they chose.

The one function other apps call is `notify`:

    from portal.notifications.services import Attachment, notify, recipient_language

    with transaction.atomic():
        appointment.status = Appointment.Status.BOOKED
        appointment.save()
        with recipient_language(resident):
            body = render_to_string("booking/notifications/booked.txt", {"a": appointment})
        notify(
            resident,
            _("Your appointment is booked"),
            body,
            kind="booking.booked",
            url=appointment.get_absolute_url(),
            attachments=[Attachment("appointment.ics", ics_text, "text/calendar")],
        )

The message is written to the outbox in the caller's transaction; nothing is sent unless that
transaction commits. After the commit a Celery task delivers it, and the periodic sweep
delivers whatever the task could not (broker or worker down, a channel failing), so an outage
delays messages but loses none. Each message is sent at most once per channel.

Delivery, the sweep and the inbox rules are plain functions here; the Celery tasks and the
views only call them.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator

from .channels import CHANNELS, PermanentDeliveryError, get_channel
from .models import Delivery, Message, MessageAttachment
from .recipients import recipient_language, recipient_language_code, recipient_profile

__all__ = [
    "Attachment",
    "notify",
    "recipient_language",
    "queue_delivery",
    "attempt_delivery",
    "deliver_message",
    "fail_stale_deliveries",
    "sweep_outbox",
    "inbox_messages",
    "unread_count",
    "mark_read",
    "mark_all_read",
]

logger = logging.getLogger(__name__)

INBOX = "inbox"
SUBJECT_MAX_LENGTH = Message._meta.get_field("subject").max_length
URL_MAX_LENGTH = Message._meta.get_field("url").max_length
KIND_MAX_LENGTH = Message._meta.get_field("kind").max_length
ERROR_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Attachment:
    """A file sent with the e-mail of a notification; `content` is str (sent as UTF-8) or bytes."""

    filename: str
    content: str | bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class SweepResult:
    attempted: int = 0
    sent: int = 0
    stale: int = 0


def _setting(name, default):
    return getattr(settings, name, default)


# Recording -------------------------------------------------------------------------------------


def _channels_for(user, profile, channels):
    if channels is None:
        wanted = {name for name, channel in CHANNELS.items() if channel.wanted(profile)}
    else:
        if isinstance(channels, str):
            raise TypeError("channels must be a set of channel names, such as {'email'}")
        wanted = set(channels)
        unknown = wanted - set(CHANNELS) - {INBOX}
        if unknown:
            raise ValueError(f"Unknown notification channels: {sorted(unknown)}")
        wanted.discard(INBOX)
    # A channel without an address is skipped, not failed: the inbox still has the message.
    return sorted(name for name in wanted if CHANNELS[name].address(user, profile))


def _clean_url(url):
    url = str(url or "").strip()
    if not url:
        return ""
    if (
        not url.startswith("/")
        or len(url) > URL_MAX_LENGTH
        or any(ch.isspace() or not ch.isprintable() for ch in url)
        or not url_has_allowed_host_and_scheme(url, allowed_hosts=set())
    ):
        raise ValueError(f"url must be a path on the portal starting with '/', not {url!r}")
    return url


def _clean_attachment(attachment):
    filename = str(attachment.filename).replace("\\", "/").rsplit("/", 1)[-1]
    filename = "".join(ch for ch in filename if ch.isprintable()).strip()
    if not filename:
        raise ValueError("An attachment needs a file name.")
    content = attachment.content
    if isinstance(content, str):
        content = content.encode("utf-8")
    elif isinstance(content, bytearray | memoryview):
        content = bytes(content)
    elif not isinstance(content, bytes):
        raise TypeError(f"Attachment content must be str or bytes, not {type(content).__name__}")
    if len(content) > _setting("NOTIFICATIONS_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024):
        # Mail servers refuse large messages, so it could never be delivered; link to it.
        raise ValueError(f"Attachment {filename!r} is too large to send by e-mail.")
    return MessageAttachment(
        filename=filename[:255],
        mimetype=str(attachment.mimetype or "application/octet-stream")[:127],
        content=content,
    )


def notify(user, subject, body, *, kind="general", url="", attachments=(), channels=None):
    """Record a notification for `user` and schedule its delivery when the transaction commits.

    - `subject`, `body`: text or lazy translation strings (gettext_lazy, format_lazy); they are
      evaluated in the recipient's preferred language and stored as plain text. Render
      templates for the body inside `recipient_language(user)`.
    - `kind`: a short dotted key for the kind of event ("cases.decided", "booking.reminder").
    - `url`: optional path on the portal ("/clinics/appointments/12/"), linked from the inbox
      and appended to e-mail and SMS as an absolute URL.
    - `attachments`: `Attachment(filename, content, mimetype)` items, sent with the e-mail.
    - `channels`: None sends on the channels the user chose in their profile; a set such as
      {"email"} forces those channels for a transactional message. Either way a channel is
      used only where the user has an address (e-mail) or phone (SMS), and the in-portal
      inbox always gets the message.

    Example:

        with transaction.atomic():
            case.decide(...)
            notify(
                case.applicant,
                format_lazy(_("Decision on your application {ref}"), ref=case.reference),
                _("Your application has been decided. Open it to read the decision."),
                kind="cases.decided",
                url=case.get_absolute_url(),
            )

    The rows are written in the caller's transaction (no commit of its own); a rollback
    leaves nothing and sends nothing. Returns the Message (the inbox entry).
    """
    if user is None or user.pk is None:
        raise ValueError("notify() needs a saved user.")
    profile = recipient_profile(user)
    language = recipient_language_code(user)
    with translation.override(language):
        subject_text = " ".join(str(subject).split())  # a newline in a subject breaks e-mail
        body_text = str(body).strip()
    if not subject_text:
        raise ValueError("A notification needs a subject.")
    kind = str(kind or "general")[:KIND_MAX_LENGTH]
    url = _clean_url(url)
    attachment_rows = [_clean_attachment(attachment) for attachment in attachments or ()]
    channel_names = _channels_for(user, profile, channels)

    # savepoint=False: inside the caller's transaction this adds nothing; called in autocommit
    # mode it still writes message, attachments and deliveries all-or-nothing.
    with transaction.atomic(savepoint=False):
        message = Message.objects.create(
            user=user,
            kind=kind,
            subject=Truncator(subject_text).chars(SUBJECT_MAX_LENGTH, truncate="…"),
            body=body_text,
            url=url,
            language=language,
        )
        for row in attachment_rows:
            row.message = message
        MessageAttachment.objects.bulk_create(attachment_rows)
        Delivery.objects.bulk_create(
            Delivery(message=message, channel=name, next_attempt_at=message.created_at)
            for name in channel_names
        )
        if channel_names:
            message_id = message.pk
            transaction.on_commit(lambda: queue_delivery(message_id))
    return message


def queue_delivery(message_id):
    """Ask a Celery worker to deliver a message now. Never raises.

    Publishing fails when the broker is down. The message is already safe in the outbox and
    the sweep will deliver it, so the request that recorded it must not fail because of that.
    """
    from .tasks import deliver_message as deliver_message_task  # tasks imports this module

    try:
        deliver_message_task.apply_async(args=[message_id], retry=False)
    except Exception:
        logger.warning(
            "Could not queue delivery of notification %s; the outbox sweep will send it.",
            message_id,
            exc_info=True,
        )


# Delivery --------------------------------------------------------------------------------------


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
    # A delivery never tried is due at once, whatever the clocks say: the worker's clock may
    # run a little behind the web server's that stamped next_attempt_at, and the task that
    # follows the commit must not skip the message and leave it for the next sweep.
    return Q(status=Delivery.Status.PENDING) & (Q(attempts=0) | Q(next_attempt_at__lte=now))


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

    delivery = Delivery.objects.select_related("message__user").get(pk=delivery_id)
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


# Inbox -----------------------------------------------------------------------------------------


def inbox_messages(user):
    """The user's messages, newest first."""
    return Message.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_count(user):
    """How many of the user's messages are unread (one COUNT query)."""
    return Message.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(message):
    """Mark one message read (once: the first read time is kept)."""
    if message.read_at is None:
        now = timezone.now()
        if Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now):
            message.read_at = now
        else:
            message.refresh_from_db(fields=["read_at"])
    return message


def mark_all_read(user):
    """Mark every unread message of the user read. Returns how many changed."""
    return Message.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
