"""The messages the accounts app sends, registered with portal.notifications."""

from django.utils.translation import gettext_lazy as _

from portal.notifications.kinds import EMAIL, INBOX, NotificationKind, register

register(
    NotificationKind(
        "accounts.data_export_ready",
        label=_("Your data is ready to download"),
        group=_("Your account"),
        templates={
            "subject": "accounts/notifications/export_ready_subject.txt",
            "body": "accounts/notifications/export_ready.txt",
        },
        channels=frozenset({INBOX, EMAIL}),
        optional=False,  # the resident asked for it and it is deleted after a while
    )
)
