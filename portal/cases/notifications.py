"""What residents are told about their cases: kinds declared in notification_kinds.py, recorded
in the caller's transaction and rendered in every language by portal.notifications."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from portal.notifications.services import notify
from portal.notifications.sms import get_sms_backend

from .clock import due_date_for
from .wording import status_wording

logger = logging.getLogger(__name__)


def _send(case, kind, context=None):
    user = case.applicant
    if user is None:
        return None
    return notify(
        kind, user, {"case": case, **(context or {})}, about=case, url=case.get_absolute_url()
    )


def case_submitted(case, due):
    return _send(case, "cases.submitted", {"due": due})


def case_linked(case):
    return _send(case, "cases.linked")


def office_message(case, message):
    return _send(case, "cases.message", {"message": message})


def office_document(case, document):
    return _send(case, "cases.document", {"document": document})


def _status_label(case):
    """The status the resident reads, in the language the message is being rendered in."""
    return status_wording(case).label


def _next_step(case):
    return status_wording(case).next_step


def for_transition(change):
    """A lifecycle step's notification (the kind its row names in lifecycle.py), written in
    the transition's transaction after the step's other effects, so it reads the new due
    date. Status changes about one case within the merge window become one message."""
    case = change.obj
    kind = change.step.notify
    if kind == "cases.submitted":
        return case_submitted(case, due_date_for(case))
    context = {
        "what": change.step.resident_text,
        "reason": change.reason,
        "status": lazy(_status_label, str)(case),
        "next_step": lazy(_next_step, str)(case),
        "due": due_date_for(case) if case.is_open else None,
    }
    return _send(case, kind, context)


def hotline_sms(case):
    """A caller without an account gets the reference by SMS, once the case is saved."""
    phone = case.applicant_phone
    with translation.override(settings.LANGUAGE_CODE):
        text = _(
            "District hotline: we have recorded your call as %(reference)s. We will reply "
            "by %(due)s."
        ) % {"reference": case.reference, "due": case.due_date.isoformat() if case.due_date else ""}

    def send():
        try:
            get_sms_backend().send(phone, text)
        except Exception:
            logger.exception("SMS with hotline reference %s failed", case.reference)

    transaction.on_commit(send)
