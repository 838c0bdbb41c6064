"""The messages the public site sends, registered with portal.notifications."""

from django.utils.translation import gettext_lazy as _

from portal.notifications.kinds import EMAIL, INBOX, NotificationKind, register

register(
    NotificationKind(
        "cms.urgent_announcement",
        label=_("An urgent announcement for your street or community"),
        group=_("District announcements"),
        templates={
            "subject": "cms/notifications/urgent_subject.txt",
            "body": "cms/notifications/urgent.txt",
        },
        channels={INBOX, EMAIL},
        optional=True,
    )
)
