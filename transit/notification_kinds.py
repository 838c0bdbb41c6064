"""The message transit sends, registered with portal.notifications: a new service alert for
a resident's favourite stop or one of its routes. Residents may turn it off or choose its
channels on their notification settings page."""

from django.utils.translation import gettext_lazy as _

from portal.notifications.kinds import EMAIL, INBOX, NotificationKind, register

register(
    NotificationKind(
        "transit.alert",
        label=_("A new service alert for one of your favourite stops or its routes"),
        group=_("Public transport"),
        templates={
            "subject": "transit/notifications/alert_subject.txt",
            "body": "transit/notifications/alert.txt",
        },
        channels=frozenset({INBOX, EMAIL}),
        optional=True,
    )
)
