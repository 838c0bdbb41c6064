"""The outbox: what the portal has told each resident, and how far each channel got.

A Message is the in-portal copy (the inbox) and the source of truth for every other channel.
It keeps its text in every portal language (`texts`), rendered from its kind's templates when
it was recorded, so the inbox shows it in the language the reader uses now and e-mail and SMS
go out in the recipient's preferred language at the time they are sent.
Each external channel (e-mail, SMS) has one Delivery row per message; the unique constraint on
(message, channel) is what makes "at most once per channel" a database fact rather than a hope.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from . import attachments
from .kinds import INBOX, text_for


class Message(models.Model):
    """One notification for one user: its kind, and its text in every portal language.

    `subject`, `body` and `language` are the inbox text in the recipient's preferred language
    when it was recorded (what the admin lists and searches); `texts` has every language and
    any channel-specific text, and is what pages and deliveries read.
    """

    # The outbox points only at its recipient; Wagtail's "where is this used" index of it
    # would cost a task and three statements on every notification (every booking).
    wagtail_reference_index_ignore = True

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_messages",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=64, default="general")
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # The recipient's language when it was recorded: the one `subject` and `body` are in.
    language = models.CharField(_("language"), max_length=10)
    # {language: {"inbox": {"subject", "body"}, "email"/"sms": {...} where they differ}}
    texts = models.JSONField(_("texts"), default=dict, blank=True)
    # What the message is about ("booking.appointment:12"); a burst about one object within
    # the kind's merge window is folded into one message.
    about = models.CharField(_("about"), max_length=100, blank=True)
    merged_count = models.PositiveIntegerField(_("notifications merged"), default=1)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # When the latest notification folded into it arrived; the inbox is ordered by it.
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-updated_at"], name="notif_message_inbox_idx"),
            models.Index(
                fields=["user", "kind", "about", "-created_at"],
                condition=~Q(about=""),
                name="notif_message_about_idx",
            ),
            # Partial index: the header's unread count touches only unread rows.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notif_message_unread_idx"
            ),
        ]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("notifications:detail", args=[self.pk])

    @property
    def is_read(self):
        return self.read_at is not None

    def text(self, language=None, channel=INBOX):
        """{"subject", "body"} in `language` (default: the active one) for `channel`.

        Falls back to the text stored at sending time for a language the message was not
        rendered in (messages recorded before texts were kept, a language added since).
        """
        found = text_for(self.texts, language or translation.get_language(), channel)
        return found or {"subject": self.subject, "body": self.body}

    @property
    def display_subject(self):
        """The subject in the reader's current language (templates use this)."""
        return self.text()["subject"]

    @property
    def display_body(self):
        return self.text()["body"]


class MessageAttachment(models.Model):
    """A file sent with the e-mail of a message (for example a booking's .ics).

    Kept in the database, not in file storage, because it must be written in the same
    transaction as the message: a rollback must leave no orphan file behind. A file fully
    decided by a short value (a check-in code's QR image) keeps only the value and the name of
    the maker that draws it when the e-mail is sent (see attachments.py); `content` is empty.
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    filename = models.CharField(_("file name"), max_length=255)
    mimetype = models.CharField(_("type"), max_length=127)
    content = models.BinaryField(_("content"), blank=True, default=b"")
    made_by = models.CharField(_("attachment maker"), max_length=64, blank=True)
    made_from = models.CharField(_("made from"), max_length=255, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.filename

    def file_content(self):
        """The file's bytes: kept, or made now by its maker (UnknownMaker if it is gone)."""
        if self.made_by:
            return attachments.make(self.made_by, self.made_from)
        return bytes(self.content)


class Delivery(models.Model):
    """The state of one message on one external channel."""

    wagtail_reference_index_ignore = True

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("message")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    address = models.CharField(_("sent to"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    # While "sending": the worker that claimed the row holds it until then. A worker that died
    # never records a result; once its lease has expired the sweep claims the row again.
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel"], name="notif_delivery_once_per_channel"
            ),
        ]
        indexes = [
            # Partial indexes: nearly every row ends up "sent", and the sweep only ever asks
            # for "pending and due" and "sending with an expired lease", so these stay small.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notif_delivery_due_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="notif_delivery_lease_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()}: {self.message_id} ({self.get_status_display()})"


class KindPreference(models.Model):
    """A resident's choice of channels for one optional notification kind.

    No row: the kind's default channels. All channels off: the kind is turned off, and
    nothing is recorded or sent. E-mail and SMS are copies of the inbox entry, so choosing
    either keeps the inbox on too.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("resident"),
    )
    kind = models.CharField(_("kind"), max_length=64)
    inbox = models.BooleanField(_("inbox"), default=True)
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("SMS"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notif_preference_once_per_kind")
        ]

    def __str__(self):
        return f"{self.user_id}: {self.kind}"

    @property
    def channels(self):
        """The chosen channels as names; empty when the kind is turned off."""
        chosen = {name for name in ("email", "sms") if getattr(self, name)}
        if chosen or self.inbox:
            chosen.add(INBOX)
        return chosen
