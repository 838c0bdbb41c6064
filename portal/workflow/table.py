"""Transition tables: what may change into what, by whom, and what follows.

A model's workflow is declared once, in the app that owns the model, and registered:

    from portal import workflow
    from portal.workflow import RESIDENT, STAFF, SYSTEM, Step

    APPOINTMENT = workflow.register(
        workflow.Workflow(
            Appointment,
            field="status",
            resident=lambda appointment: appointment.resident,
            steps=[
                Step(
                    "cancel",
                    source=["booked"],
                    target="cancelled",
                    by={RESIDENT},
                    label=_("Cancelled by the resident"),
                    resident_text=_("You cancelled this appointment."),
                    notify="booking.cancelled",
                    effects=[release_place, offer_free_places],
                ),
                ...
            ],
        )
    )

- `source`: the states the step leaves from; `None` among them means the object is being
  created (its INSERT is the state write).
- `by`: who may take it: RESIDENT (the person the object belongs to, `resident(obj)`),
  STAFF (staff whose scope holds the object, asked of portal.scoping), SYSTEM (a job, a rule's
  consequence, an API client: `System("label")`).
- `reason_required`, `label` (what staff read), `resident_text` (what the resident reads; empty
  hides the step from the resident's timeline), `notify` (the notification kind to send to
  the resident), `effects` (callables taking the Change, run in the same transaction after
  the state is written: capacity counters, offers), `refused` (the TransitionError subclass
  to raise when the step cannot be taken, for a message of the app's own).

Several steps may share a source and target (a resident's cancellation and a closure's);
`transition(..., step="close")` chooses one, otherwise the one the actor may take is used.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from .actors import RESIDENT, STAFF, SYSTEM, System
from .errors import INVALID, TransitionError

__all__ = ["RESIDENT", "STAFF", "SYSTEM", "Step", "System", "Workflow", "register", "workflow_for"]


@dataclass(frozen=True, kw_only=True)
class Step:
    name: str
    source: tuple
    target: str
    by: frozenset
    label: object = ""
    resident_text: object = ""
    reason_required: bool = False
    notify: str = ""
    effects: tuple = ()
    refused: type = None

    def __init__(self, name, **kwargs):
        self.__dict__.update(kwargs, name=name)
        self.__post_init__()

    def __post_init__(self):
        for key in ("source", "effects"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
        object.__setattr__(self, "by", frozenset(self.by))
        unknown = set(self.by) - {RESIDENT, STAFF, SYSTEM}
        if unknown:
            raise ValueError(f"Step {self.name!r}: unknown actors {sorted(unknown)}")
        if self.refused is not None and not issubclass(self.refused, TransitionError):
            raise TypeError(f"Step {self.name!r}: refused must be a TransitionError subclass")

    @property
    def creates(self):
        return None in self.source


@dataclass
class Workflow:
    """The transition table of one model. `resident(obj)` is the person the object belongs to
    (the RESIDENT actor and the recipient of notifications); `notifier(change)` sends a step's
    notification kind (see Change.step.notify) until portal.notifications offers registered
    kinds; `refused` and `lost` are the error classes for this model's refusals."""

    model: type
    steps: list
    field: str = "status"
    resident: object = None
    notifier: object = None
    refused: type = TransitionError
    lost: type = None
    steps_by_name: dict = dataclass_field(default_factory=dict, init=False)

    def __post_init__(self):
        for step in self.steps:
            if step.name in self.steps_by_name:
                raise ValueError(f"{self.model.__name__}: two steps named {step.name!r}")
            self.steps_by_name[step.name] = step
        states = {value for value, _label in self.model._meta.get_field(self.field).choices}
        for step in self.steps:
            unknown = ({step.target} | set(step.source)) - states - {None}
            if unknown:
                raise ValueError(f"Step {step.name!r}: {sorted(unknown)} are not states")

    @property
    def label(self):
        """`app_label.model_name`, the key history rows are filed under."""
        return self.model._meta.label_lower

    def state_label(self, value):
        if value in (None, ""):
            return ""
        return dict(self.model._meta.get_field(self.field).choices).get(value, value)

    def step(self, name):
        return self.steps_by_name[name]

    def candidates(self, current, target, name=None):
        """Steps from `current` to `target` (the named one only, if a name is given)."""
        return [
            s
            for s in self.steps
            if s.target == target and current in s.source and (name is None or s.name == name)
        ]

    def check(self, obj, step_name):
        """Raise the step's refusal unless `obj`'s state is one the step leaves from: a rule
        can say "not possible" before it checks anything else, from the table itself."""
        step = self.steps_by_name[step_name]
        current = None if obj._state.adding else getattr(obj, self.field)
        if current not in step.source:
            cls = step.refused or self.refused
            raise cls(code=INVALID, state=self.state_label(current), thing=obj._meta.verbose_name)

    def allows(self, obj, step_name):
        """Whether `obj`'s state is one the step leaves from (for showing a button)."""
        current = None if obj._state.adding else getattr(obj, self.field)
        return current in self.steps_by_name[step_name].source

    def targets_from(self, current):
        return sorted({s.target for s in self.steps if current in s.source})


_workflows = {}


def register(workflow):
    """Register a model's workflow (once, at import of the app's workflow module). Deleting an
    object deletes its history too (an account's data goes with the account)."""
    from django.db.models.signals import post_delete

    from .receivers import forget_history

    _workflows[workflow.model] = workflow
    post_delete.connect(
        forget_history,
        sender=workflow.model,
        weak=False,
        dispatch_uid=f"workflow_forget_{workflow.label}",
    )
    return workflow


def workflow_for(model_or_obj):
    model = model_or_obj if isinstance(model_or_obj, type) else type(model_or_obj)
    model = model._meta.concrete_model
    try:
        return _workflows[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no registered workflow") from None


def registered():
    return list(_workflows.values())
