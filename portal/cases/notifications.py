"""What residents are told about their cases. Each function renders in the recipient's
language and records the message in the caller's transaction (portal.notifications)."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from portal.notifications.services import notify, recipient_language


def _send(case, kind, subject, template, context=None):
    user = case.applicant
    if user is None:
        return None
    with recipient_language(user):
        body = render_to_string(template, {"case": case, **(context or {})})
        subject_text = subject()
    return notify(user, subject_text, body, kind=kind, url=case.get_absolute_url())


def case_submitted(case, due):
    return _send(
        case,
        "cases.submitted",
        lambda: _("Application %(reference)s received") % {"reference": case.reference},
        "cases/notifications/submitted.txt",
        {"due": due},
    )
