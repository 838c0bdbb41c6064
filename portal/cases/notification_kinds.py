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
