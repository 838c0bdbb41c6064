"""External delivery channels. The in-portal inbox is not one of them: the Message row is it.

Each channel decides whether a user wants it and has an address for it (at record time), and
sends one message (at delivery time), in the language the recipient prefers at that time.
`send` raises PermanentDeliveryError when retrying cannot help, and any other exception for a
failure worth retrying.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .attachments import UnknownMaker
from .models import Delivery
from .recipients import recipient_language_code, recipient_profile
from .sms import get_sms_backend


class PermanentDeliveryError(Exception):
    """A delivery that cannot succeed however often it is tried (no address any more...)."""


def _setting(name, default):
    return getattr(settings, name, default)


def absolute_url(path):
    """`path` on the portal's public address, for links that leave the site."""
    return f"{settings.PORTAL_BASE_URL}{path}" if path else ""


def _link_context(message, text, language):
    try:
        preferences_path = reverse("notifications:preferences")
    except NoReverseMatch:  # the page was renamed; the inbox link is still there
        preferences_path = ""
    return {
        "message": message,
        "subject": text["subject"],
        "body": text["body"],
        "language": language,
        "link": absolute_url(message.url),
        "inbox_link": absolute_url(reverse("notifications:detail", args=[message.pk])),
        "preferences_link": absolute_url(preferences_path),
    }


def message_id(message, channel):
    """The same Message-ID every time this message goes out on this channel.

    Normally it goes out once. If a worker dies after the mail server took the message but
    before the outbox recorded it, the sweep sends it again (delivery.py); with the same
    Message-ID, mail systems that drop duplicates can recognise the second copy.
    """
    domain = urlsplit(settings.PORTAL_BASE_URL).hostname or "portal.invalid"
    return f"<notification-{message.pk}.{channel}@{domain}>"


class EmailChannel:
    name = Delivery.Channel.EMAIL
    label = _("E-mail")

    def wanted(self, profile):
        return profile.notify_email

    def address(self, user, profile):
        return (user.email or "").strip()

    def send(self, message):
        """Send the message by e-mail; return the address it went to."""
        address = self.address(message.user, None)
        if not address:
            raise PermanentDeliveryError("The user has no e-mail address any more.")
        language = recipient_language_code(message.user)
        content = message.text(language, self.name)
        with translation.override(language):
            context = _link_context(message, content, language)
            text = render_to_string("notifications/email/message.txt", context)
            html = render_to_string("notifications/email/message.html", context)
        email = EmailMultiAlternatives(
            subject=content["subject"],
            body=text,
            to=[address],
            headers={
                # Keeps auto-responders from answering every notification (RFC 3834).
                "Auto-Submitted": "auto-generated",
                "Message-ID": message_id(message, self.name),
            },
        )
        email.attach_alternative(html, "text/html")
        for attachment in message.attachments.all():
            try:
                content = attachment.file_content()
            except (UnknownMaker, TypeError, ValueError) as exc:
                # Made of the same value, it would fail the same way on every retry.
                raise PermanentDeliveryError(f"{attachment.filename}: {exc}") from exc
            email.attach(attachment.filename, content, attachment.mimetype)
        email.send(fail_silently=False)
        return address


class SMSChannel:
    name = Delivery.Channel.SMS
    label = _("SMS")

    def wanted(self, profile):
        return profile.notify_sms

    def address(self, user, profile):
        return (profile.phone or "").strip() if profile is not None else ""

    def text(self, message):
        language = recipient_language_code(message.user)
        content = message.text(language, self.name)
        with translation.override(language):
            # Named first, because a text message shows only a number as its sender.
            subject = f"[{settings.PORTAL_NAME}] {content['subject']}"
        # SMS are paid per segment; the full text is always in the inbox.
        body = Truncator(content["body"]).chars(_setting("NOTIFICATIONS_SMS_BODY_CHARS", 280), "…")
        return "\n".join(part for part in (subject, body, absolute_url(message.url)) if part)

    def send(self, message):
        """Send the message as a text message; return the number it went to."""
        phone = self.address(message.user, recipient_profile(message.user))
        if not phone:
            raise PermanentDeliveryError("The user has no phone number any more.")
        get_sms_backend().send(phone, self.text(message))
        return phone


CHANNELS = {channel.name: channel for channel in (EmailChannel(), SMSChannel())}


def get_channel(name):
    try:
        return CHANNELS[name]
    except KeyError:
        raise PermanentDeliveryError(f"Unknown notification channel {name!r}.") from None
