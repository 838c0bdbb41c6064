"""Status changes with a history, shared by every model that has a status a resident follows
(appointments and waitlist places now; cases and cards next).

- table.py: the declared transition table per model (`Workflow`, `Step`) and its registry;
- engine.py: `transition(obj, to, *, by, reason="", note="")`, the one way a state changes;
  `record_unchanged(rows, by=System(...))`, the history of steps that keep the state, in bulk;
- models.py: `StateChange`, the history row of every transition;
- history.py: a history as timeline entries for a resident or for staff, rendered by the
  timeline component (`{% timeline entries %}`, portal/components);
- errors.py: `TransitionError`, the one error for invalid, lost, forbidden or reason-less
  transitions; http.py turns it into a 409 (or 403/400) JSON answer for APIs.
"""

from .engine import Change, record_unchanged, transition
from .errors import TransitionError
from .table import RESIDENT, STAFF, SYSTEM, Step, System, Workflow, register, workflow_for

__all__ = [
    "RESIDENT",
    "STAFF",
    "SYSTEM",
    "Change",
    "Step",
    "System",
    "TransitionError",
    "Workflow",
    "record_unchanged",
    "register",
    "transition",
    "workflow_for",
]
