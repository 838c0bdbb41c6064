"""Notifications: record a message of a registered kind, then deliver it on its channels.

The one function other apps call is `notify`; kinds are declared in each app's
`notification_kinds.py` (see kinds.py and README.md in this folder):

    from portal.notifications.services import Attachment, notify

    with transaction.atomic():
        appointment = ...  # the change itself
        notify(
            "booking.booked",
            appointment.resident,
            {"appointment": appointment, "slot": appointment.slot},
            url=appointment.get_absolute_url(),
            attachments=[Attachment("appointment.ics", ics_text, "text/calendar")],
        )

The message is written to the outbox in the caller's transaction; nothing is sent unless that
transaction commits. After the commit a Celery task delivers it (a sweep of the outbox that
this process publishes at most once a NOTIFICATIONS_NUDGE_SECONDS, see _Nudges), and the
periodic sweep delivers whatever the task could not (broker or worker down, a channel
failing), so an outage delays messages but loses none. Each message is sent at most once per
channel.

Recording, the resident's choices and the inbox rules are plain functions here; delivery is
in delivery.py; the Celery tasks and the views only call them.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from portal.celery import app as celery_app
from portal.celery import publish
from portal.mypage.panels import changed as mypage_changed

from . import tasks
from .attachments import is_registered as maker_registered
from .channels import CHANNELS, absolute_url
from .delivery import (
    SweepResult,
    attempt_delivery,
    deliver_message,
    fail_abandoned_deliveries,
    sweep_outbox,
)
from .kinds import INBOX, all_kinds, get_kind, render_texts
from .models import Delivery, KindPreference, Message, MessageAttachment
from .recipients import recipient_language, recipient_language_code, recipient_profile

__all__ = [
    "Attachment",
    "notify",
    "recipient_language",
    "chosen_channels",
    "kind_choices",
    "save_kind_choices",
    "queue_delivery",
    "forget_delivery_nudges",
    "attempt_delivery",
    "deliver_message",
    "fail_abandoned_deliveries",
    "sweep_outbox",
    "SweepResult",
    "inbox_messages",
    "unread_count",
    "mark_read",
    "mark_all_read",
]

logger = logging.getLogger(__name__)

URL_MAX_LENGTH = Message._meta.get_field("url").max_length
ABOUT_MAX_LENGTH = Message._meta.get_field("about").max_length
MADE_FROM_MAX_LENGTH = MessageAttachment._meta.get_field("made_from").max_length


@dataclass(frozen=True)
class Attachment:
    """A file sent with the e-mail of a notification; `content` is str (sent as UTF-8) or bytes.

    Or, for a file fully decided by a short value, no content but `made_by`, a maker registered
    in attachments.py, and `made_from`, the value it is made of when the e-mail is sent.
    """

    filename: str
    content: str | bytes | None = None
    mimetype: str = "application/octet-stream"
    made_by: str = ""
    made_from: str = ""


def _setting(name, default):
    return getattr(settings, name, default)


# The resident's choices ---------------------------------------------------------------------


def chosen_channels(kind, user, profile=None, *, preference=None):
    """The channels a message of `kind` goes to for `user`: a set of names, empty when off.

    - A mandatory kind goes to its channels; an optional one to the resident's choice for it
      (`preference`, a KindPreference, read from the database when not given), else to the
      kind's channels.
    - E-mail and SMS go out only while switched on in the profile, unless the kind requires
      them (required_channels).
    - A channel without an address (no e-mail, no phone) is left out; the inbox still has the
      message.
    """
    kind = get_kind(kind)
    profile = profile if profile is not None else recipient_profile(user)
    chosen = set(kind.channels)
    if kind.optional:
        if preference is None and user.pk is not None:
            preference = KindPreference.objects.filter(user=user, kind=kind.name).first()
        if preference is not None:
            chosen = preference.channels & kind.channels
    if not chosen:
        return set()
    channels = {INBOX}
    for name in chosen - {INBOX}:
        channel = CHANNELS[name]
        if name not in kind.required_channels and not channel.wanted(profile):
            continue
        if channel.address(user, profile):
            channels.add(name)
    return channels


def kind_choices(user):
    """Every kind with the resident's current choice, for the settings page.

    A list of (kind, chosen channel names) in registry order; one query.
    """
    preferences = {p.kind: p for p in KindPreference.objects.filter(user=user)}
    choices = []
    for kind in all_kinds():
        preference = preferences.get(kind.name) if kind.optional else None
        chosen = preference.channels & kind.channels if preference else set(kind.channels)
        choices.append((kind, chosen))
    return choices


@transaction.atomic
def save_kind_choices(user, choices):
    """Store the resident's channels per optional kind: {kind name: set of channel names}.

    Mandatory kinds and unknown names are ignored (a tampered form changes nothing it may
    not); channels a kind does not use are dropped; e-mail or SMS keep the inbox on.
    Returns how many kinds changed.
    """
    changed = 0
    existing = {p.kind: p for p in KindPreference.objects.select_for_update().filter(user=user)}
    for kind in all_kinds():
        if not kind.optional or kind.name not in choices:
            continue
        wanted = set(choices[kind.name]) & kind.channels
        values = {
            "inbox": bool(wanted),
            "email": "email" in wanted,
            "sms": "sms" in wanted,
        }
        preference = existing.get(kind.name)
        if preference is None:
            if wanted == kind.channels:
                continue  # the default: no row needed
            KindPreference.objects.create(user=user, kind=kind.name, **values)
            changed += 1
        elif any(getattr(preference, field) != value for field, value in values.items()):
            KindPreference.objects.filter(pk=preference.pk).update(
                **values, updated_at=timezone.now()
            )
            changed += 1
    return changed


# Recording ----------------------------------------------------------------------------------


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


def _about_key(about):
    """'app_label.model:pk' for a model instance; a string is taken as it is."""
    if about is None or about == "":
        return ""
    if hasattr(about, "_meta") and hasattr(about, "pk"):
        if about.pk is None:
            raise ValueError("about= needs a saved object.")
        key = f"{about._meta.label_lower}:{about.pk}"
    else:
        key = str(about)
    if len(key) > ABOUT_MAX_LENGTH or any(not ch.isprintable() for ch in key):
        raise ValueError(f"about= is too long or not printable: {key!r}")
    return key


def _clean_attachment(attachment):
    filename = str(attachment.filename).replace("\\", "/").rsplit("/", 1)[-1]
    filename = "".join(ch for ch in filename if ch.isprintable()).strip()
    if not filename:
        raise ValueError("An attachment needs a file name.")
    mimetype = str(attachment.mimetype or "application/octet-stream")[:127]
    if attachment.made_by:
        return _made_later(attachment, filename, mimetype)
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
    return MessageAttachment(filename=filename[:255], mimetype=mimetype, content=content)


def _made_later(attachment, filename, mimetype):
    if attachment.content is not None:
        raise ValueError(f"Attachment {filename!r} has content and a maker: give one of them.")
    if not maker_registered(attachment.made_by):
        raise ValueError(f"Attachment {filename!r}: no maker {attachment.made_by!r} is registered.")
    value = attachment.made_from
    if not isinstance(value, str) or len(value) > MADE_FROM_MAX_LENGTH or not value.isprintable():
        raise ValueError(
            f"Attachment {filename!r}: made_from is a printable string of at most "
            f"{MADE_FROM_MAX_LENGTH} characters, not {value!r}."
        )
    return MessageAttachment(
        filename=filename[:255],
        mimetype=mimetype,
        made_by=attachment.made_by,
        made_from=value,
    )


def notify(kind, recipient, context=None, *, about=None, url="", attachments=()):
    """Record a notification of a registered `kind` for `recipient` and deliver it on commit.

    - `kind`: a registered kind's name ("booking.booked") or the NotificationKind itself.
    - `recipient`: a saved user.
    - `context`: what the kind's templates read (model instances, dates, strings, lazy
      translations). They are rendered here, once per portal language, while the objects
      exist; the inbox then shows the message in the language the reader uses, and e-mail and
      SMS go out in the recipient's preferred language when they are sent.
    - `about`: the object the message is about (a model instance or a string key); kinds with
      a merge window fold a burst about one object into one message.
    - `url`: optional path on the portal ("/clinics/appointments/12/"), linked from the inbox
      and added to e-mail and SMS as an absolute link (templates get it as `link`).
    - `attachments`: `Attachment(filename, content, mimetype)` items, sent with the e-mail;
      or `Attachment(filename, mimetype=..., made_by=maker, made_from=value)` for a file its
      maker draws when the e-mail is sent (attachments.py).

    Channels follow the kind and the resident's choices (see chosen_channels). Returns the
    Message (the inbox entry), or None when the resident has turned this kind off.

    The rows are written in the caller's transaction (no commit of its own); a rollback
    leaves nothing and sends nothing. An unknown kind raises UnknownKind; a bad `url`,
    `about` or attachment raises ValueError, before anything is written.
    """
    kind = get_kind(kind)
    user = recipient
    if user is None or user.pk is None:
        raise ValueError("notify() needs a saved user.")
    profile = recipient_profile(user)
    channels = chosen_channels(kind, user, profile)
    url = _clean_url(url)
    about_key = _about_key(about)
    attachment_rows = [_clean_attachment(attachment) for attachment in attachments or ()]
    if not channels:
        return None
    external = sorted(channels - {INBOX})

    now = timezone.now()
    window = kind.merge_delta if about_key else None
    # savepoint=False: inside the caller's transaction this adds nothing; called in autocommit
    # mode it still writes message, attachments and deliveries all-or-nothing.
    with transaction.atomic(savepoint=False):
        earlier = _open_burst(user, kind, about_key, now - window) if window else None
        merged_count = earlier.merged_count + 1 if earlier else 1
        language = recipient_language_code(user)
        texts = render_texts(
            kind,
            {
                **(context or {}),
                "recipient": user,
                "link": absolute_url(url),
                "base_url": settings.PORTAL_BASE_URL,
                "merged_count": merged_count,
            },
            external,
        )
        own = texts[language][INBOX]
        if not own["subject"]:
            raise ValueError(f"The {kind.name} notification rendered an empty subject.")
        fields = {
            "subject": own["subject"],
            "body": own["body"],
            "url": url,
            "language": language,
            "texts": texts,
            "merged_count": merged_count,
            "updated_at": now,
        }
        if earlier is not None:
            return _fold_into(
                earlier, fields, attachment_rows, external, earlier.created_at + window
            )
        message = Message.objects.create(
            user=user, kind=kind.name, about=about_key, created_at=now, **fields
        )
        for row in attachment_rows:
            row.message = message
        MessageAttachment.objects.bulk_create(attachment_rows)
        # A kind that merges holds e-mail and SMS for its window, so later news about the same
        # object can still be folded in; the sweep sends them when it closes.
        send_at = now + window if window else now
        Delivery.objects.bulk_create(
            Delivery(message=message, channel=name, created_at=now, next_attempt_at=send_at)
            for name in external
        )
        if external and not window:
            message_id = message.pk
            transaction.on_commit(lambda: queue_delivery(message_id))
    return message


def _open_burst(user, kind, about_key, since):
    """The message of this burst still open for folding in, locked; or None.

    Open: the same kind about the same object, begun within the window, and not yet sent on
    any channel (every delivery still held). Locking it makes concurrent notifications about
    one object fold in one after the other.
    """
    started = Delivery.objects.filter(message=OuterRef("pk")).exclude(
        status=Delivery.Status.PENDING, attempts=0
    )
    return (
        Message.objects.select_for_update()
        .filter(user=user, kind=kind.name, about=about_key, created_at__gte=since)
        .exclude(Exists(started))
        .order_by("-created_at", "-pk")
        .first()
    )


def _fold_into(message, fields, attachment_rows, external, send_at):
    """Update the burst's message to the latest news: text, link, attachments, unread again."""
    Message.objects.filter(pk=message.pk).update(read_at=None, **fields)
    mypage_changed(message.user_id)  # an UPDATE: no save signal tells My page's inbox panel
    for name, value in fields.items():
        setattr(message, name, value)
    message.read_at = None
    if attachment_rows:
        message.attachments.all().delete()
        for row in attachment_rows:
            row.message = message
        MessageAttachment.objects.bulk_create(attachment_rows)
    if external:
        # A channel the resident switched on since the burst began joins it, held like the
        # rest; the ones already there keep their row (one per channel).
        Delivery.objects.bulk_create(
            (
                Delivery(
                    message=message,
                    channel=name,
                    created_at=message.created_at,
                    next_attempt_at=send_at,
                )
                for name in external
            ),
            ignore_conflicts=True,
        )
    return message


# The nudge is due this long after its window: the workers' clocks may run a little ahead of
# this process's, and a nudge that ran early could miss the last message of its window.
NUDGE_MARGIN_SECONDS = 0.5


class _Nudges:
    """When this process last asked the workers to sweep the outbox, so that a rush of
    messages (the morning the vaccination slots open) costs one task a second, not one each.

    A nudge is the sweep task, due after its window: it runs after every message recorded
    while it waited was committed (each was committed before it asked), so each of them is
    delivered by it. Behind a lock, held while publishing (at most about
    REDIS_TIMEOUT_SECONDS), so that a publish that failed is never taken for a nudge on its
    way: a process may serve requests in threads.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.due = 0.0  # time.monotonic() until which the latest nudge has not run

    def reset(self):
        with self._lock:
            self.due = 0.0

    def ask(self, window):
        """Publish a sweep due after `window` seconds (and the margin) unless one is on its
        way. Returns whether the workers will deliver (a nudge was or is published)."""
        with self._lock:
            now = time.monotonic()
            if now < self.due:
                return True
            if not publish(tasks.sweep_outbox, countdown=window + NUDGE_MARGIN_SECONDS):
                return False
            self.due = now + window
            return True


_nudges = _Nudges()


def forget_delivery_nudges():
    """Forget the nudge on its way (tests, each with a broker of its own)."""
    _nudges.reset()


def queue_delivery(message_id):
    """Ask a Celery worker to deliver a committed message soon. Never raises, never waits long.

    With a broker, at most one sweep a NOTIFICATIONS_NUDGE_SECONDS per process (see _Nudges);
    0 (the embedded profile's default), or tasks run eagerly (the tests), publishes this
    message's own task at once.
    Publishing fails when the broker is down or frozen (portal.celery.publish gives up after
    REDIS_TIMEOUT_SECONDS). The message is already safe in the outbox and the periodic sweep
    will deliver it, so the request that recorded it must not fail or hang because of that.
    """
    window = _setting("NOTIFICATIONS_NUDGE_SECONDS", 1)
    if window > 0 and not celery_app.conf.task_always_eager:
        queued = _nudges.ask(window)
    else:
        queued = publish(tasks.deliver_message, args=[message_id])
    if not queued:
        logger.warning(
            "Could not queue delivery of notification %s; the outbox sweep will send it.",
            message_id,
        )


# Inbox --------------------------------------------------------------------------------------


def inbox_messages(user):
    """The user's messages, the latest news first."""
    return Message.objects.filter(user=user).order_by("-updated_at", "-pk")


def _unread(user):
    return Message.objects.filter(user=user, read_at__isnull=True)


def unread_count(user):
    """How many of the user's messages are unread (one COUNT query)."""
    return _unread(user).count()


def latest_and_unread(user, count):
    """(the user's `count` latest messages, how many of all theirs are unread) in one query:
    the count rides on the list (a user without messages has none unread)."""
    unread = _unread(user).order_by().values("user").annotate(n=Count("pk")).values("n")
    latest = list(inbox_messages(user).annotate(unread_total=Subquery(unread))[:count])
    return latest, (latest[0].unread_total or 0) if latest else 0


def mark_read(message):
    """Mark one message read (once: the first read time is kept)."""
    if message.read_at is None:
        now = timezone.now()
        if Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now):
            message.read_at = now
            mypage_changed(message.user_id)
        else:
            message.refresh_from_db(fields=["read_at"])
    return message


def mark_all_read(user):
    """Mark every unread message of the user read. Returns how many changed."""
    count = Message.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
    if count:
        mypage_changed(user.pk)
    return count
