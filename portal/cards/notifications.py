"""What residents are told about their card: the step's kind (notification_kinds.py) with what
its templates need, put in the outbox in the transition's transaction."""

from portal.notifications.services import notify

from .models import Card


def for_transition(change):
    """The workflow's notifier: send the step's kind to the applicant or holder."""
    obj = change.obj
    if isinstance(obj, Card):
        user, application, card = obj.holder, obj.application, obj
        url = obj.application.get_absolute_url()
    else:
        user, application, card = obj.applicant, obj, None
        url = obj.get_absolute_url()
    if user is None or not user.is_active:
        return None
    return notify(
        change.step.notify,
        user,
        {
            "application": application,
            "card": card,
            "office": application.collection_point,
            "reason": change.reason,
        },
        about=obj,
        url=url,
    )
