"""`transition()`: the one way a workflow's state changes."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation

from portal import scoping

from .errors import (
    INVALID,
    LOST,
    ReasonRequired,
    TransitionError,
    TransitionForbidden,
    TransitionLost,
)
from .signals import recorded_unchanged, transitioned
from .table import RESIDENT, STAFF, SYSTEM, Step, System, workflow_for

REASON_MAX_LENGTH = 500


@dataclass
class Change:
    """A transition just made, handed to notifiers and effects: the object (with its new
    state), the step taken, who made it and the history row written."""

    obj: object
    step: Step
    from_state: object
    actor_kind: str
    user: object
    reason: str
    note: str
    at: object
    record: object
    context: dict


def source_text(text):
    """A lazy translatable text's source (English) form, which history rows store."""
    if not text:
        return ""
    with translation.override(None):
        return str(text)


def _is_resident(workflow, obj, user):
    if workflow.resident is None or user is None:
        return False
    owner = workflow.resident(obj)
    return owner is not None and getattr(owner, "pk", owner) == user.pk


def _actor_kinds(workflow, obj, by, steps):
    """The kinds of actor `by` counts as for these steps; STAFF only when the object is in
    their scope (one query, asked only when a staff step is possible)."""
    if isinstance(by, System):
        return {SYSTEM}
    if by is None or not getattr(by, "is_authenticated", False):
        return set()
    kinds = set()
    if _is_resident(workflow, obj, by):
        kinds.add(RESIDENT)
    staff_step = any(STAFF in s.by for s in steps)
    if staff_step and not obj._state.adding and scoping.allows(by, obj, scoping.ACT):
        kinds.add(STAFF)
    return kinds


def _refusal(workflow, step, obj, state, *, lost=False):
    if lost:
        cls = workflow.lost or (step.refused if step else None) or TransitionLost
    else:
        cls = (step.refused if step else None) or workflow.refused
    return cls(
        code=LOST if lost else INVALID,
        state=workflow.state_label(state),
        thing=obj._meta.verbose_name,
    )


def _choose(workflow, obj, current, to, by, step_name):
    candidates = workflow.candidates(current, to, step_name)
    if not candidates:
        named = workflow.steps_by_name.get(step_name) if step_name else None
        raise _refusal(workflow, named, obj, current)
    kinds = _actor_kinds(workflow, obj, by, candidates)
    for step in candidates:
        allowed = step.by & kinds
        if allowed:
            # A resident acting on their own object acts as the resident.
            return step, (RESIDENT if RESIDENT in allowed else sorted(allowed)[0])
    raise TransitionForbidden()


def transition(
    obj,
    to,
    *,
    by,
    reason="",
    note="",
    step=None,
    values=None,
    where=None,
    context=None,
    at=None,
):
    """Move `obj` to state `to`, as the table of its model allows, in one transaction.

    - `by`: the user making the change (a resident acting on their own object, or staff whose
      scope holds it) or a `System(label, user=None)` for jobs, consequences and API clients.
    - `reason`: shown to the resident and staff (required where the step says so); `note`:
      for staff only.
    - `step`: the step's name, when several lead from the current state to `to`.
    - `values`: other columns written with the state, in the same UPDATE (`cancelled_at`).
    - `where`: further conditions of that UPDATE (`{"offer_expires_at__gt": now}`); when one
      no longer holds, the transition is lost like a concurrent one.
    - `context`: extra values for the notifier and effects (a slot already locked, ...).

    An object not yet saved is created in state `to` by a step whose source holds None. Else
    the state is written with a conditional UPDATE (`WHERE state = <the state read>`), so of
    two concurrent transitions from one state exactly one wins; the other raises
    TransitionLost. Then the history row, the notification and the step's effects are written,
    all in the caller's transaction (or one of their own). Raises a TransitionError (nothing
    written) when the table has no such step, the actor may not take it, a reason is missing,
    or the transition was lost. Returns the Change.
    """
    from .models import StateChange

    workflow = workflow_for(obj)
    field = workflow.field
    adding = obj._state.adding
    current = None if adding else getattr(obj, field)
    chosen, actor_kind = _choose(workflow, obj, current, to, by, step)
    reason = " ".join(str(reason or "").split())[:REASON_MAX_LENGTH]
    note = str(note or "").strip()
    if chosen.reason_required and not reason:
        raise ReasonRequired()
    at = at or timezone.now()
    user = by.user if isinstance(by, System) else by
    label = by.label if isinstance(by, System) else _name(user)
    model = type(obj)._meta.concrete_model
    with transaction.atomic(savepoint=False):
        if adding:
            setattr(obj, field, to)
            for name, value in (values or {}).items():
                setattr(obj, name, value)
            obj.save(force_insert=True)
            won = True
        else:
            won = bool(
                model._default_manager.filter(
                    pk=obj.pk, **{field: current}, **(where or {})
                ).update(**{field: to}, **(values or {}))
            )
        if won:
            record = StateChange.objects.create(
                model=workflow.label,
                object_id=str(obj.pk),
                step=chosen.name,
                from_state=current or "",
                to_state=to,
                actor_kind=actor_kind,
                actor=user if user is not None and user.pk else None,
                actor_label=label[:150],
                at=at,
                reason=reason,
                note=note,
                resident_text=source_text(chosen.resident_text)[:300],
            )
            if not adding:
                setattr(obj, field, to)
                for name, value in (values or {}).items():
                    setattr(obj, name, value)
            change = Change(
                obj=obj,
                step=chosen,
                from_state=current,
                actor_kind=actor_kind,
                user=user,
                reason=reason,
                note=note,
                at=at,
                record=record,
                context=dict(context or {}),
            )
            if chosen.notify and workflow.notifier is not None:
                workflow.notifier(change)
            for effect in chosen.effects:
                effect(change)
            transitioned.send(sender=model, change=change)
    if not won:
        # Nothing was written: the block above ended normally, so the caller's transaction
        # is still usable (a closure cancelling many appointments goes on with the next).
        now_state = model._default_manager.filter(pk=obj.pk).values_list(field, flat=True).first()
        raise _refusal(workflow, chosen, obj, now_state, lost=True)
    return change


def record_unchanged(rows, *, by, at=None):
    """History rows, in one INSERT, for steps that leave each object's state as it is (a due
    date a calendar change moved, for a whole batch of cases). `rows` are (obj, step name,
    reason) with the step declared in the object's table leaving from and returning to the
    object's current state; `by` is a System. No notification and no effects run: this is for
    bulk jobs whose own write is already done. Raises TransitionError (nothing written) when a
    step is not declared that way. Sends `recorded_unchanged` with the rows (My page drops the
    residents' cached panels). Returns the rows written."""
    from .models import StateChange

    if not isinstance(by, System):
        raise TypeError("record_unchanged() is for jobs: pass by=System(label).")
    at = at or timezone.now()
    actor = by.user if by.user is not None and by.user.pk else None
    label = by.label[:150]
    # A batch holds thousands of rows of a handful of steps: check each (model, step, state)
    # and render its resident text once.
    checked = {}
    records = []
    for obj, step_name, reason in rows:
        model = type(obj)
        field_and_label = checked.get(model)
        if field_and_label is None:
            workflow = workflow_for(obj)
            field_and_label = checked[model] = (workflow, workflow.field, workflow.label)
        workflow, field, model_label = field_and_label
        state = getattr(obj, field)
        text = checked.get((model, step_name, state))
        if text is None:
            step = workflow.steps_by_name.get(step_name)
            if step is None or step.target != state or state not in step.source:
                raise _refusal(workflow, step, obj, state)
            if SYSTEM not in step.by:
                raise TransitionForbidden()
            text = checked[(model, step_name, state)] = source_text(step.resident_text)[:300]
        records.append(
            StateChange(
                model=model_label,
                object_id=str(obj.pk),
                step=step_name,
                from_state=state,
                to_state=state,
                actor_kind=SYSTEM,
                actor=actor,
                actor_label=label,
                at=at,
                reason=" ".join(str(reason or "").split())[:REASON_MAX_LENGTH],
                resident_text=text,
            )
        )
    written = StateChange.objects.bulk_create(records)
    recorded_unchanged.send(sender=StateChange, changes=written)
    return written


def _name(user):
    """Who it was, kept with the row in case the account goes (no query: the profile's
    display name is shown from the live account while it exists)."""
    return (user.email or user.get_username()) if user is not None else ""


__all__ = ["Change", "TransitionError", "record_unchanged", "transition"]
