"""The event feed department systems follow with a cursor (GET /api/cases/events): what
changed on which case, written in the transaction of the change. It is a feed for other
systems, not the case's history: the history is the workflow's (lifecycle.py)."""


def record_event(case, event, **data):
    """Add `event` ("case.submitted", ...) to the feed department systems follow, in the
    caller's transaction."""
    from .models import CaseEvent

    return CaseEvent.objects.create(case=case, office_id=case.office_id, kind=event, data=data)
