"""What residents are told about their cases. Each function renders in the recipient's
language and records the message in the caller's transaction (portal.notifications)."""

from django.conf import settings
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


def case_linked(case):
    return _send(
        case,
        "cases.linked",
        lambda: (
            _("Your application %(reference)s is now on My page") % {"reference": case.reference}
        ),
        "cases/notifications/linked.txt",
    )


def hotline_sms(case):
    """A caller without an account gets the reference by SMS, once the case is saved."""
    import logging

    from django.db import transaction
    from django.utils import translation

    from portal.notifications.sms import get_sms_backend

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
            logging.getLogger(__name__).exception(
                "SMS with hotline reference %s failed", case.reference
            )

    transaction.on_commit(send)


def office_message(case, message):
    return _send(
        case,
        "cases.message",
        lambda: _("A message about your application %(reference)s") % {"reference": case.reference},
        "cases/notifications/message.txt",
        {"message": message},
    )


def office_document(case, document):
    return _send(
        case,
        "cases.document",
        lambda: _("A document for your application %(reference)s") % {"reference": case.reference},
        "cases/notifications/document.txt",
        {"document": document},
    )
