"""Notification kinds for the tests, with templates in ./templates/tests_notifications."""

from pathlib import Path

from portal.notifications.kinds import EMAIL, INBOX, SMS, NotificationKind

TEMPLATE_DIR = Path(__file__).parent / "templates"
EVERY_CHANNEL = {INBOX, EMAIL, SMS}


def _templates(name="note", **per_channel):
    return {
        "subject": f"tests_notifications/{name}_subject.txt",
        "body": f"tests_notifications/{name}.txt",
        **per_channel,
    }


def _kind(name, label, templates=None, channels=EVERY_CHANNEL, **options):
    return NotificationKind(
        name,
        label=label,
        group="Tests",
        templates=templates or _templates(),
        channels=channels,
        **options,
    )


# Optional: follows the profile's channels and the resident's choice for it.
NOTE = _kind("tests.note", "A note")
# Mandatory, e-mail whatever the profile says, SMS when the resident chose it.
RECEIPT = _kind("tests.receipt", "A receipt", optional=False, required_channels={EMAIL})
INBOX_ONLY = _kind("tests.inbox_only", "Inbox only", channels={INBOX})
# A text of its own for SMS.
SHORT_SMS = _kind(
    "tests.short_sms",
    "Short SMS",
    _templates(
        sms_subject="tests_notifications/note_sms_subject.txt",
        sms_body="tests_notifications/note_sms.txt",
    ),
)
# Translated text, so the language it is shown in can be checked.
UPDATE = _kind("tests.update", "An update", _templates("update"))
# A burst about one object within NOTIFICATIONS_MERGE_SECONDS becomes one message.
MERGED = _kind("tests.merged", "Merged updates", _templates("update"), merge_window=True)

ALL = (NOTE, RECEIPT, INBOX_ONLY, SHORT_SMS, UPDATE, MERGED)


def note(user, subject="Subject", body="Body", *, kind="tests.note", **kwargs):
    """notify() with a subject and body of the caller's choosing (kind tests.note by default)."""
    from portal.notifications.services import notify

    return notify(kind, user, {"subject": subject, "body": body}, **kwargs)
