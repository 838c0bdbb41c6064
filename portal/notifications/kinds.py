"""The registry of notification kinds, and how a kind's message is rendered.

A kind is one sort of message the portal sends ("booking.booked", "case.correction_requested",
"transit.alert"): its templates, the channels it goes out on, and whether a resident may turn
it off. Apps declare their kinds in a module of their own named `notification_kinds.py`,
which this app imports when Django starts (like `wagtail_hooks.py`):

    # health/booking/notification_kinds.py
    from django.utils.translation import gettext_lazy as _

    from portal.notifications.kinds import NotificationKind, register

    GROUP = _("Clinic appointments")

    register(
        NotificationKind(
            "booking.reminder",
            label=_("Reminder the day before an appointment"),
            group=GROUP,
            templates={
                "subject": "booking/emails/reminder_subject.txt",
                "body": "booking/emails/reminder.txt",
            },
            channels={"inbox", "email", "sms"},
        )
    )

The registry sits in the lowest layer (portal) and knows nothing about the apps above it;
they call it. See README.md in this folder for the whole API.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.template import Context
from django.template.loader import get_template
from django.utils import translation
from django.utils.text import Truncator

__all__ = [
    "CHANNEL_NAMES",
    "INBOX",
    "EMAIL",
    "SMS",
    "NotificationKind",
    "UnknownKind",
    "register",
    "unregister",
    "get_kind",
    "all_kinds",
    "render_texts",
    "text_for",
]

INBOX = "inbox"
EMAIL = "email"
SMS = "sms"
# In the order a resident reads them on the settings page.
CHANNEL_NAMES = (INBOX, EMAIL, SMS)

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
SUBJECT_MAX_LENGTH = 255


class UnknownKind(LookupError):
    """notify() was given a kind nobody registered (a typo, or an app not installed)."""


@dataclass(frozen=True, eq=False)
class NotificationKind:
    """One sort of message.

    - `name`: dotted, app first ("booking.booked"); stored on every message of the kind.
    - `label`: what the resident reads on the notification settings page (lazy translation).
    - `group`: the heading it is listed under there, usually the app ("Clinic appointments").
    - `templates`: template names. "subject" and "body" are required; "<channel>_subject" and
      "<channel>_body" (channel: inbox, email, sms) replace them on one channel, e.g. a short
      "sms_body". Templates are plain text, rendered once per portal language with the
      context given to notify() plus `recipient`, `link` (the message's absolute URL),
      `base_url` and `merged_count`.
    - `channels`: where it goes by default. The inbox is always one of them: it is the record
      of what the portal told the resident, and the other channels are copies of it.
    - `optional`: a resident may turn the kind off or choose its channels. Mandatory kinds
      (confirmations, cancellations) cannot be turned off.
    - `required_channels`: e-mail and SMS go out only while the resident has them switched on
      in their profile, except the channels named here, which a mandatory kind uses whatever
      the profile says (a booking confirmation carrying its calendar file goes by e-mail).
    - `merge_window`: several notifications of this kind about one object (notify's `about`)
      within this time become one message: the inbox entry is updated and e-mail and SMS wait
      for the window to close, then send the latest text once. None: never merged.
      `True` takes the window from settings.NOTIFICATIONS_MERGE_SECONDS.
    - `description`: an optional longer hint under the label.
    """

    name: str
    label: str
    templates: dict
    group: str = ""
    channels: frozenset = field(default=frozenset({INBOX, EMAIL}))
    optional: bool = True
    required_channels: frozenset = field(default=frozenset())
    merge_window: timedelta | bool | None = None
    description: str = ""

    def __post_init__(self):
        if not _NAME.match(self.name) or len(self.name) > 64:
            raise ValueError(
                f"A notification kind's name is dotted lower case, app first, at most 64 "
                f"characters (such as 'booking.booked'), not {self.name!r}."
            )
        channels = frozenset(self.channels) | {INBOX}
        unknown = channels - set(CHANNEL_NAMES)
        if unknown:
            raise ValueError(f"{self.name}: unknown channels {sorted(unknown)}")
        object.__setattr__(self, "channels", channels)
        templates = dict(self.templates)
        missing = {"subject", "body"} - set(templates)
        if missing:
            raise ValueError(f"{self.name}: templates need {sorted(missing)}")
        allowed = {"subject", "body"} | {
            f"{channel}_{part}" for channel in CHANNEL_NAMES for part in ("subject", "body")
        }
        unknown = set(templates) - allowed
        if unknown:
            raise ValueError(f"{self.name}: unknown template keys {sorted(unknown)}")
        object.__setattr__(self, "templates", templates)
        required = frozenset(self.required_channels)
        if required - channels:
            raise ValueError(f"{self.name}: required channels must be among its channels")
        if required and self.optional:
            raise ValueError(
                f"{self.name}: a kind the resident may turn off cannot require channels."
            )
        object.__setattr__(self, "required_channels", required)
        if isinstance(self.merge_window, int | float) and not isinstance(self.merge_window, bool):
            raise TypeError(f"{self.name}: merge_window is a timedelta, True or None")

    def __str__(self):
        return self.name

    @property
    def external_channels(self):
        """The channels besides the inbox, in display order."""
        return tuple(name for name in CHANNEL_NAMES if name != INBOX and name in self.channels)

    @property
    def merge_delta(self):
        """How long notifications about one object are folded together, or None."""
        if self.merge_window is None or self.merge_window is False:
            return None
        if self.merge_window is True:
            seconds = getattr(settings, "NOTIFICATIONS_MERGE_SECONDS", 300)
            return timedelta(seconds=seconds) if seconds > 0 else None
        return self.merge_window if self.merge_window > timedelta(0) else None

    def template_name(self, channel, part):
        return self.templates.get(f"{channel}_{part}") or self.templates[part]

    def check_templates(self):
        """Load every template, so a kind with a missing template fails at start-up checks."""
        for channel in self.channels:
            for part in ("subject", "body"):
                get_template(self.template_name(channel, part))


class Registry:
    def __init__(self):
        self._kinds = {}

    def register(self, kind):
        if not isinstance(kind, NotificationKind):
            raise TypeError("register() takes a NotificationKind")
        existing = self._kinds.get(kind.name)
        if existing is not None and existing is not kind:
            raise ValueError(f"The notification kind {kind.name!r} is registered twice.")
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, name):
        self._kinds.pop(str(name), None)

    def get(self, name):
        if isinstance(name, NotificationKind):
            name = name.name
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(
                f"No notification kind {name!r} is registered. Declare it with "
                "portal.notifications.kinds.register() in the app's notification_kinds.py."
            ) from None

    def all(self):
        return sorted(self._kinds.values(), key=lambda kind: kind.name)


registry = Registry()
register = registry.register
unregister = registry.unregister
get_kind = registry.get
all_kinds = registry.all


# Rendering ------------------------------------------------------------------------------------


def _one_line(text):
    # A line break in a subject would break an e-mail header; the template's own newlines too.
    return " ".join(str(text).split())


def _render(template_name, context):
    # Plain text: "&" stays "&". The HTML e-mail and the pages escape the text themselves.
    template = get_template(template_name)
    engine_template = getattr(template, "template", None)  # Django's own template engine
    if engine_template is not None:
        return engine_template.render(Context(context, autoescape=False))
    return template.render(context)


def render_texts(kind, context, channels):
    """Render the kind's subject and body for the given channels in every portal language.

    Returns {language: {"inbox": {"subject": ..., "body": ...}, <channel>: {...}}}, the form
    Message.texts keeps; a channel appears beside the inbox only where the kind gives it
    templates of its own. Everything the templates read is read now, while the objects exist,
    so the message stays readable in any language after they change or are deleted.
    """
    inbox_names = (kind.template_name(INBOX, "subject"), kind.template_name(INBOX, "body"))
    wanted = [INBOX] + [
        channel
        for channel in CHANNEL_NAMES
        if channel != INBOX
        and channel in channels
        and (kind.template_name(channel, "subject"), kind.template_name(channel, "body"))
        != inbox_names
    ]
    texts = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            texts[language] = {
                channel: {
                    "subject": Truncator(
                        _one_line(_render(kind.template_name(channel, "subject"), context))
                    ).chars(SUBJECT_MAX_LENGTH, truncate="…"),
                    "body": _render(kind.template_name(channel, "body"), context).strip(),
                }
                for channel in wanted
            }
    return texts


def text_for(texts, language, channel=INBOX):
    """The {"subject", "body"} of one channel in one language from Message.texts, or None."""
    in_language = (texts or {}).get(language)
    if not in_language:
        return None
    return in_language.get(channel) or in_language.get(INBOX)
