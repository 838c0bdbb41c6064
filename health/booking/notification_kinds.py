"""The messages clinic booking sends, registered with portal.notifications.

Confirmations, cancellations and waitlist offers go by e-mail whatever the profile says (the
e-mail carries the calendar file, the offer is time-critical), and by SMS when the resident
chose text messages; a resident cannot turn them off. The reminder is theirs to turn off.
"""

from django.utils.translation import gettext_lazy as _

from portal.notifications.attachments import register_maker
from portal.notifications.kinds import EMAIL, INBOX, SMS, NotificationKind, register

from .qr import qr_png

GROUP = _("Clinic appointments")
# The confirmation's QR image of the check-in code, drawn when the e-mail is sent.
CHECK_IN_QR = "booking.check_in_qr"
register_maker(CHECK_IN_QR, qr_png)
ALL = frozenset({INBOX, EMAIL, SMS})


def _templates(name):
    return {
        "subject": f"booking/emails/{name}_subject.txt",
        "body": f"booking/emails/{name}.txt",
    }


def _mandatory(name, label, *, required=frozenset({EMAIL})):
    register(
        NotificationKind(
            f"booking.{name}",
            label=label,
            group=GROUP,
            templates=_templates(name),
            channels=ALL,
            optional=False,
            required_channels=required,
        )
    )


_mandatory("booked", _("Appointment booked, with its calendar file and check-in code"))
_mandatory("cancelled", _("Appointment cancelled"))
_mandatory("closed", _("Appointment cancelled because the clinic is closed"))
_mandatory("offer", _("A place has become free for you on a waitlist"))
_mandatory("offer_expired", _("A waitlist offer has expired"), required=frozenset())
_mandatory(
    "waitlist_closed", _("A waitlist ended because the clinic is closed"), required=frozenset()
)

register(
    NotificationKind(
        "booking.reminder",
        label=_("Reminder the day before an appointment"),
        group=GROUP,
        templates=_templates("reminder"),
        channels=ALL,
    )
)
