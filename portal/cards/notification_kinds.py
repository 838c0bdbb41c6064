"""The messages social security cards send, registered with portal.notifications."""

from django.utils.translation import gettext_lazy as _

from portal.notifications.kinds import EMAIL, INBOX, SMS, NotificationKind, register

GROUP = _("Social security card")


def _kind(name, label, *, channels=frozenset({INBOX, EMAIL}), optional=False):
    register(
        NotificationKind(
            f"cards.{name}",
            label=label,
            group=GROUP,
            templates={
                "subject": f"cards/notifications/{name}_subject.txt",
                "body": f"cards/notifications/{name}.txt",
            },
            channels=channels,
            optional=optional,
        )
    )


_kind("submitted", _("Your card application has been received"))
_kind("approved", _("Your photo and details are approved"), optional=True)
_kind("correction_requested", _("The office asks you to correct your card application"))
_kind("ready", _("Your card is ready for collection"), channels=frozenset({INBOX, EMAIL, SMS}))
_kind("blocked", _("Your card is blocked"), channels=frozenset({INBOX, EMAIL, SMS}))
