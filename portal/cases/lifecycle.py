"""The transition table of a case (see portal/workflow). Every status change of a case goes
through `portal.workflow.transition()` with one of these steps, which writes the state with a
conditional UPDATE, the history row (the case's one history, shown by the timeline component
to the resident and to officers), the resident's notification and the step's effects (the
clock, the event feed) in one transaction.

    draft ──submit──▶ submitted ──accept──▶ accepted ──start──▶ in progress ──approve──▶ approved
      │                  │  ▲ └──reject──┐      │                   │    └──reject──▶ rejected
      │   request_correction│resubmit    └──────┴──reject───────────┼─────────────────▶ rejected
      └──receive_at_window / receive_call──▶ accepted (an officer took it in: window, hotline)
                         ▼  │                                      │
                correction requested ◀──request_correction─────────┘ (also from accepted)
    approved / rejected ──result_ready──▶ result ready ──collect──▶ collected
                                                      └──close────▶ closed
    submitted … in progress ──withdraw──▶ withdrawn (the resident, before the decision)

Who may: RESIDENT is the applicant (`case.applicant`); STAFF is a case officer of the case's
office (portal.scoping, see scopes.py); SYSTEM is a job or a department system through the
back-office API (`System("api: <client>")`).

A case an officer takes in at the service window or from a hotline call (`receive_at_window`,
`receive_call`) is received and accepted in one step by that officer: they have checked it
with the resident, so there is no "submitted" stage left to act on. An application the office
cannot take on (incomplete, or the applicant is not eligible) is rejected straight from
"submitted" (or "resubmitted"), with the reason the resident reads.

The clock (see services.due_date_for): it starts when the office accepts the case (day one is
the next working day when that is not one); until then the date shown is an estimate from
the day the application arrived. A correction request stops it (a CasePause opens) and the
resubmission starts it again (the pause closes); each of these, and an extension, works the
due date out again in the same transaction.
"""

from dataclasses import replace

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.workflow import RESIDENT, STAFF, SYSTEM, Step, TransitionError, Workflow, register

from . import notifications
from .clock import _iso, refresh_due_date
from .feed import record_event
from .models import OPEN_STATES, Case, CasePause, CaseState

SUBMITTED = CaseState.SUBMITTED
CORRECTION_REQUESTED = CaseState.CORRECTION_REQUESTED
RESUBMITTED = CaseState.RESUBMITTED
ACCEPTED = CaseState.ACCEPTED
IN_PROGRESS = CaseState.IN_PROGRESS
APPROVED = CaseState.APPROVED
REJECTED = CaseState.REJECTED
RESULT_READY = CaseState.RESULT_READY
COLLECTED = CaseState.COLLECTED
CLOSED = CaseState.CLOSED
WITHDRAWN = CaseState.WITHDRAWN

# Before the decision: the resident may still withdraw, officers may still extend.
UNDECIDED = (SUBMITTED, CORRECTION_REQUESTED, RESUBMITTED, ACCEPTED, IN_PROGRESS)
assert set(UNDECIDED) == set(OPEN_STATES)

STATUS_KIND = "cases.status_changed"
CORRECTION_KIND = "cases.correction_requested"


class CaseTransitionRefused(TransitionError):
    message = _("This case cannot be moved on that way while it is “%(state)s”.")


class CaseTransitionLost(TransitionError):
    message = _(
        "Someone else changed this case a moment ago: it is now “%(state)s”. Please check it."
    )


def _today(change):
    return timezone.localdate(change.at)


# Effects: run in the transition's transaction, after the state is written -------------------


def record_in_feed(change):
    """The back-office event feed (department systems follow it with a cursor)."""
    record_event(
        change.obj,
        "case.status_changed",
        step=change.step.name,
        from_state=change.from_state or "",
        to_state=change.step.target,
        reason=change.reason,
    )


def refresh_due(change):
    refresh_due_date(change.obj)


def start_clock(change):
    """Acceptance starts the clock, once: a case accepted again after a correction keeps its
    first acceptance day (the correction's pause covers the time in between)."""
    case = change.obj
    if case.accepted_on is None:
        case.accepted_on = _today(change)
        Case.objects.filter(pk=case.pk, accepted_on__isnull=True).update(
            accepted_on=case.accepted_on
        )
    refresh_due(change)


def stop_clock(change):
    """A correction request: the clock stops today, waiting for what the office asked for."""
    CasePause.objects.create(case=change.obj, started_on=_today(change), reason=change.reason[:200])
    refresh_due(change)


def restart_clock(change):
    """The resident answered (or withdrew): the open pause ends today."""
    CasePause.objects.filter(case=change.obj, ended_on__isnull=True).update(ended_on=_today(change))
    refresh_due(change)


def record_decision(change):
    case = change.obj
    case.decided_on = _today(change)
    fields = {"decided_on": case.decided_on}
    if change.step.target == REJECTED:
        case.decision_reason = fields["decision_reason"] = change.reason
    Case.objects.filter(pk=case.pk).update(**fields)


def record_result_note(change):
    if change.reason:
        change.obj.result_note = change.reason
        Case.objects.filter(pk=change.obj.pk).update(result_note=change.reason)


def notify_resident(change):
    notifications.for_transition(change)


def _told(steps):
    """Each step that names a notification kind tells the resident last of its effects."""
    return [
        replace(step, effects=(*step.effects, notify_resident)) if step.notify else step
        for step in steps
    ]


def _same_state_steps(prefix, *, by, label, resident_text, **kwargs):
    """Steps that leave the state as it is but belong in the history (an extension, a due date
    a calendar change moved): one per open state (a step has one target), `<prefix>_<state>`."""
    return [
        Step(
            f"{prefix}_{state}",
            source=[state],
            target=state,
            by=by,
            label=label,
            resident_text=resident_text,
            **kwargs,
        )
        for state in UNDECIDED
    ]


def extend_step(state):
    return f"extend_{state}"


CASE = register(
    Workflow(
        Case,
        field="state",
        resident=lambda case: case.applicant_id,
        # No notifier: a step's notification is its last effect (see _told), so it reads the
        # due date the step's other effects have just worked out.
        refused=CaseTransitionRefused,
        lost=CaseTransitionLost,
        steps=_told(
            [
                Step(
                    "submit",
                    source=[CaseState.DRAFT],
                    target=SUBMITTED,
                    by={RESIDENT, STAFF},
                    label=_("Application received"),
                    resident_text=_("We received your application."),
                    notify="cases.submitted",
                    effects=[refresh_due, record_in_feed],
                ),
                Step(
                    "receive_at_window",
                    source=[CaseState.DRAFT],
                    target=ACCEPTED,
                    by={STAFF},
                    label=_("Received and accepted at the window"),
                    resident_text=_(
                        "An officer received your application at the window and accepted it: "
                        "the clock is running."
                    ),
                    notify="cases.submitted",
                    effects=[start_clock, record_in_feed],
                ),
                Step(
                    "receive_call",
                    source=[CaseState.DRAFT],
                    target=ACCEPTED,
                    by={STAFF},
                    label=_("Recorded from a hotline call"),
                    resident_text=_(
                        "The district hotline recorded your call and passed it to the office: "
                        "the clock is running."
                    ),
                    notify="cases.submitted",
                    effects=[start_clock, record_in_feed],
                ),
                Step(
                    "accept",
                    source=[SUBMITTED, RESUBMITTED],
                    target=ACCEPTED,
                    by={STAFF, SYSTEM},
                    label=_("Accepted"),
                    resident_text=_("The office accepted your application: the clock is running."),
                    notify=STATUS_KIND,
                    effects=[start_clock, record_in_feed],
                ),
                Step(
                    "request_correction",
                    source=[SUBMITTED, RESUBMITTED, ACCEPTED, IN_PROGRESS],
                    target=CORRECTION_REQUESTED,
                    by={STAFF, SYSTEM},
                    reason_required=True,
                    label=_("Correction requested"),
                    resident_text=_(
                        "The office needs something more from you. The clock is stopped until "
                        "you send it."
                    ),
                    notify=CORRECTION_KIND,
                    effects=[stop_clock, record_in_feed],
                ),
                Step(
                    "resubmit",
                    source=[CORRECTION_REQUESTED],
                    target=RESUBMITTED,
                    by={RESIDENT, STAFF},
                    label=_("Correction sent"),
                    resident_text=_("You sent the correction. The clock runs again."),
                    effects=[restart_clock, record_in_feed],
                ),
                Step(
                    "start",
                    source=[ACCEPTED],
                    target=IN_PROGRESS,
                    by={STAFF, SYSTEM},
                    label=_("Work started"),
                    resident_text=_("The office started working on your application."),
                    notify=STATUS_KIND,
                    effects=[record_in_feed],
                ),
                Step(
                    "approve",
                    source=[IN_PROGRESS],
                    target=APPROVED,
                    by={STAFF, SYSTEM},
                    label=_("Approved"),
                    resident_text=_("Your application is approved."),
                    notify=STATUS_KIND,
                    effects=[record_decision, record_in_feed],
                ),
                Step(
                    "reject",
                    # From "submitted" too: an application that is incomplete or whose applicant
                    # is not eligible is refused at once, with the reason.
                    source=[SUBMITTED, RESUBMITTED, ACCEPTED, IN_PROGRESS],
                    target=REJECTED,
                    by={STAFF, SYSTEM},
                    reason_required=True,
                    label=_("Rejected"),
                    resident_text=_("Your application was not approved."),
                    notify=STATUS_KIND,
                    effects=[record_decision, record_in_feed],
                ),
                Step(
                    "result_ready",
                    source=[APPROVED, REJECTED],
                    target=RESULT_READY,
                    by={STAFF, SYSTEM},
                    label=_("Result ready"),
                    resident_text=_("Your result is ready."),
                    notify=STATUS_KIND,
                    effects=[record_result_note, record_in_feed],
                ),
                Step(
                    "collect",
                    source=[RESULT_READY],
                    target=COLLECTED,
                    by={STAFF, SYSTEM},
                    label=_("Result collected"),
                    resident_text=_("You collected the result."),
                    effects=[record_in_feed],
                ),
                Step(
                    "close",
                    source=[RESULT_READY],
                    target=CLOSED,
                    by={STAFF, SYSTEM},
                    label=_("Closed"),
                    resident_text=_("The office closed this case."),
                    notify=STATUS_KIND,
                    effects=[record_in_feed],
                ),
                Step(
                    "withdraw",
                    source=UNDECIDED,
                    target=WITHDRAWN,
                    by={RESIDENT},
                    label=_("Withdrawn by the resident"),
                    resident_text=_("You withdrew your application."),
                    effects=[restart_clock, record_in_feed],
                ),
                Step(
                    "withdraw_for_resident",
                    source=UNDECIDED,
                    target=WITHDRAWN,
                    by={STAFF},
                    reason_required=True,
                    label=_("Withdrawn at the resident's request"),
                    resident_text=_("Your application was withdrawn at your request."),
                    notify=STATUS_KIND,
                    effects=[restart_clock, record_in_feed],
                ),
                *_same_state_steps(
                    "extend",
                    by={STAFF, SYSTEM},
                    reason_required=True,
                    label=_("Extension granted"),
                    resident_text=_("The office extended the time it has for your application."),
                    notify=STATUS_KIND,
                    effects=[refresh_due, record_in_feed],
                ),
                *_same_state_steps(
                    "due_moved",
                    by={SYSTEM},
                    label=_("Due date moved by a calendar change"),
                    resident_text=_(
                        "The office calendar changed (a holiday or a closure day), so the due "
                        "date moved."
                    ),
                ),
            ]
        ),
    )
)


def record_due_date_changes(moved):
    """After a calendar change, a batch of moved due dates [(case, old date, DueDate)]: one
    INSERT into the event feed and one into the cases' history (a `due_moved_<state>` step,
    which keeps the state; the stored dates are already written)."""
    from portal.workflow import System, record_unchanged

    _record_events(
        [
            (
                case.pk,
                case.office_id,
                "case.due_date_moved",
                {"old": _iso(old), "new": _iso(due.due)},
            )
            for case, old, due in moved
        ]
    )
    record_unchanged(
        [
            (case, f"due_moved_{case.state}", f"{_iso(old) or '—'} → {_iso(due.due)}")
            for case, old, due in moved
        ],
        by=System("calendar"),
    )


def _record_events(rows):
    """Feed events [(case id, office id, kind, data)] in one INSERT; on PostgreSQL as arrays
    (one value per column instead of a parameter per row and column)."""
    import json

    from django.db import connection

    from .models import CaseEvent

    if connection.vendor != "postgresql":
        CaseEvent.objects.bulk_create(
            CaseEvent(case_id=case_id, office_id=office_id, kind=kind, data=data)
            for case_id, office_id, kind, data in rows
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CaseEvent._meta.db_table} (case_id, office_id, kind, data, created_at) "
            "SELECT c, o, k, d::jsonb, now() "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) "
            "WITH ORDINALITY AS v(c, o, k, d, n) ORDER BY n",
            [
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                [json.dumps(row[3]) for row in rows],
            ],
        )


# What an officer (or a department system) may do from each state, in the order the buttons
# appear, with the button's words; the extension steps have their own form.
OFFICE_STEPS = {
    "accept": _("Accept"),
    "start": _("Start work"),
    "approve": _("Approve"),
    "request_correction": _("Request a correction"),
    "reject": _("Reject"),
    "result_ready": _("Result is ready"),
    "collect": _("Record the collection"),
    "close": _("Close the case"),
    "withdraw_for_resident": _("Withdraw for the resident"),
}
