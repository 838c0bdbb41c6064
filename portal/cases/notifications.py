"""What residents are told about their cases: kinds declared in notification_kinds.py, recorded
in the caller's transaction and rendered in every language by portal.notifications."""

from portal.notifications.services import notify


def _send(case, kind, context=None):
    user = case.applicant
    if user is None:
        return None
    return notify(
        kind, user, {"case": case, **(context or {})}, about=case, url=case.get_absolute_url()
    )


def case_submitted(case, due):
    return _send(case, "cases.submitted", {"due": due})
