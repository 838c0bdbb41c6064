"""A history as timeline entries, for the resident it belongs to or for staff. One query,
whatever the object; the timeline component renders the entries the same way everywhere:

    {% load components %}{% timeline history %}
"""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .table import RESIDENT, STAFF, SYSTEM, workflow_for

RESIDENT_AUDIENCE, STAFF_AUDIENCE = "resident", "staff"
ACTOR_NAMES = {RESIDENT: _("Resident"), STAFF: _("Staff"), SYSTEM: _("Automatic")}


@dataclass(frozen=True)
class Entry:
    at: object
    title: str
    state: str
    actor: str = ""
    reason: str = ""
    note: str = ""


def records(obj):
    """The StateChange rows of one object, oldest first."""
    from .models import StateChange

    workflow = workflow_for(obj)
    return StateChange.objects.filter(model=workflow.label, object_id=str(obj.pk)).order_by(
        "at", "pk"
    )


def _staff_actor(record):
    if record.actor_id is not None:
        profile = getattr(record.actor, "profile", None)
        name = getattr(profile, "display_name", "") or record.actor.email
        name = name or record.actor.get_username()
    else:
        name = record.actor_label
    kind = str(ACTOR_NAMES.get(record.actor_kind, ""))
    if record.actor_kind == SYSTEM:
        return f"{kind} ({record.actor_label})" if record.actor_label else kind
    return f"{name} ({kind})" if name else kind


def timeline(obj, *, audience=RESIDENT_AUDIENCE):
    """The object's history as entries in the active language. A resident sees each step's
    resident text and its reason; staff see every step, who made it, the reason and the staff
    note."""
    workflow = workflow_for(obj)
    rows = records(obj)
    if audience == STAFF_AUDIENCE:
        rows = rows.select_related("actor__profile")
    entries = []
    for record in rows:
        state = str(workflow.state_label(record.to_state))
        step = workflow.steps_by_name.get(record.step)
        if audience == STAFF_AUDIENCE:
            title = str(step.label) if step and step.label else state
            entries.append(
                Entry(
                    at=record.at,
                    title=title,
                    state=state,
                    actor=_staff_actor(record),
                    reason=record.reason,
                    note=record.note,
                )
            )
        elif record.resident_text:
            # Stored in its source form, translated now: the reader's language of today.
            entries.append(
                Entry(
                    at=record.at,
                    title=gettext(record.resident_text),
                    state=state,
                    reason=record.reason,
                )
            )
    return entries
