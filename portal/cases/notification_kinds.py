"""The messages service cases send, registered with portal.notifications."""

from django.utils.translation import gettext_lazy as _

from portal.notifications.kinds import EMAIL, INBOX, SMS, NotificationKind, register

GROUP = _("Applications and cases")

register(
    NotificationKind(
        "cases.submitted",
        label=_("Your application has been received"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/submitted_subject.txt",
            "body": "cases/notifications/submitted.txt",
        },
        channels={INBOX, EMAIL, SMS},
        optional=False,
    )
)

register(
    NotificationKind(
        "cases.linked",
        label=_("An application filed at the window joins My page"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/linked_subject.txt",
            "body": "cases/notifications/linked.txt",
        },
        optional=False,
    )
)

register(
    NotificationKind(
        "cases.message",
        label=_("A message from the office about your application"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/message_subject.txt",
            "body": "cases/notifications/message.txt",
        },
        optional=False,
        merge_window=True,
    )
)

register(
    NotificationKind(
        "cases.document",
        label=_("A document added to your application"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/document_subject.txt",
            "body": "cases/notifications/document.txt",
        },
        optional=False,
        merge_window=True,
    )
)

register(
    NotificationKind(
        "cases.status_changed",
        label=_("Your application moved on (accepted, decided, result ready, ...)"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/status_subject.txt",
            "body": "cases/notifications/status.txt",
        },
        channels={INBOX, EMAIL},
        optional=False,
        # Accepted and started, or approved and ready, minutes apart: one message.
        merge_window=True,
    )
)

register(
    NotificationKind(
        "cases.correction_requested",
        label=_("The office needs a correction to your application"),
        group=GROUP,
        templates={
            "subject": "cases/notifications/correction_subject.txt",
            "body": "cases/notifications/correction.txt",
        },
        channels={INBOX, EMAIL, SMS},
        optional=False,
    )
)
