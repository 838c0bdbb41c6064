"""A case's due date: derived from the calendar, the clock's start (acceptance; before it, an
estimate from the day the application arrived), the pauses while the office waited on the
resident, and granted extensions; stored for the queue, recomputed when the calendar changes.
services.py re-exports these for its callers."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.workcalendar.periods import Extension, Pause, compute_due_date, progress
from portal.workcalendar.services import business_calendar

from .models import OPEN_STATES, Case

ONE_DAY = timedelta(days=1)


def at_risk_share():
    return float(getattr(settings, "CASES_AT_RISK_SHARE", 0.8))


def _iso(value):
    return value.isoformat() if value else None


# Due dates --------------------------------------------------------------------------------------


def due_date_for(case, calendar=None, *, pauses=None, extensions=None):
    """The case's DueDate (see portal.workcalendar.periods), or None before it is received.
    `pauses` and `extensions` may be passed in when they were read in bulk."""
    start = clock_start(case)
    if start is None:
        return None
    calendar = calendar or business_calendar()
    if pauses is None:
        pauses = list(case.pauses.all())
    if extensions is None:
        extensions = list(case.extensions.all())
    return compute_due_date(
        calendar,
        start,
        case.service.promised_days,
        counted_pauses(start, pauses),
        [Extension(e.days, e.reason) for e in extensions],
        at_risk_share=at_risk_share(),
    )


def clock_start(case):
    """The day the office's clock starts: acceptance. Before the office accepts, the date is
    an estimate from the day the application arrived (`is_estimate`)."""
    return case.accepted_on or case.received_on


def is_estimate(case):
    return case.accepted_on is None and case.received_on is not None


def counted_pauses(start, pauses):
    """The pauses as the arithmetic counts them: only the time after the clock started (a
    correction asked for before acceptance stopped no clock), in order."""
    counted = []
    for p in pauses:
        if p.ended_on is not None and p.ended_on <= start:
            continue
        counted.append(Pause(max(p.started_on, start), p.ended_on, p.reason))
    return counted


def _apply(case, due):
    changed = (
        case.due_date != due.due
        or case.at_risk_from != due.at_risk_from
        or case.due_provisional != due.provisional
    )
    case.due_date, case.at_risk_from, case.due_provisional = (
        due.due,
        due.at_risk_from,
        due.provisional,
    )
    return changed


def refresh_due_date(case, calendar=None, *, save=True):
    """Work the due date out again and store it. Returns (DueDate, changed)."""
    due = due_date_for(case, calendar)
    if due is None:
        return None, False
    changed = _apply(case, due)
    if changed and save:
        Case.objects.filter(pk=case.pk).update(
            due_date=case.due_date,
            at_risk_from=case.at_risk_from,
            due_provisional=case.due_provisional,
        )
    return due, changed


@dataclass
class RecomputeResult:
    checked: int = 0
    changed: int = 0


def recompute_open_cases(calendar=None, *, batch_size=2000, on_change=None):
    """Work out the due date of every open case again (after a calendar change) and store the
    ones that moved, in batches. `on_change(moved)` gets each batch's [(case, old due date,
    DueDate)] inside the batch's transaction (the feed records them). Idempotent: a second run finds
    nothing to change.

    Cases received on the same day for the same service, with no pause or extension, share
    one computation (100,000 cases have a few hundred distinct inputs). The job reads plain
    rows, not model instances, builds a `Case` only for the ones that moved, and on
    PostgreSQL stores a batch with one UPDATE … FROM unnest(arrays)."""
    from .models import CaseExtension, CasePause, Service

    calendar = calendar or business_calendar()
    result = RecomputeResult()
    memo = {}
    promised = dict(Service.objects.values_list("pk", "promised_days"))
    share = at_risk_share()
    last_pk = 0
    while True:
        rows = list(
            Case.objects.filter(state__in=OPEN_STATES, received_on__isnull=False, pk__gt=last_pk)
            .order_by("pk")
            .values_list(
                "pk",
                "state",
                "office_id",
                "service_id",
                "received_on",
                "accepted_on",
                "due_date",
                "at_risk_from",
                "due_provisional",
            )[:batch_size]
        )
        if not rows:
            return result
        last_pk = rows[-1][0]
        first_pk = rows[0][0]
        # The few cases with pauses or extensions, by id range (no list of 2,000 ids to send).
        pauses, extensions = {}, {}
        for pause in CasePause.objects.filter(case_id__gte=first_pk, case_id__lte=last_pk):
            pauses.setdefault(pause.case_id, []).append(pause)
        for extension in CaseExtension.objects.filter(case_id__gte=first_pk, case_id__lte=last_pk):
            extensions.setdefault(extension.case_id, []).append(extension)
        moved = []
        for pk, state, office_id, service_id, received, accepted, old, risk, provisional in rows:
            start = accepted or received
            own_pauses = pauses.get(pk, ())
            own_extensions = extensions.get(pk, ())
            key = (
                start,
                promised[service_id],
                tuple((p.started_on, p.ended_on, p.reason) for p in own_pauses),
                tuple((e.days, e.reason) for e in own_extensions),
            )
            due = memo.get(key)
            if due is None:
                due = memo[key] = compute_due_date(
                    calendar,
                    start,
                    promised[service_id],
                    counted_pauses(start, own_pauses),
                    [Extension(e.days, e.reason) for e in own_extensions],
                    at_risk_share=share,
                )
            if (old, risk, provisional) != (due.due, due.at_risk_from, due.provisional):
                case = Case(
                    pk=pk,
                    state=state,
                    office_id=office_id,
                    service_id=service_id,
                    received_on=received,
                    accepted_on=accepted,
                    due_date=due.due,
                    at_risk_from=due.at_risk_from,
                    due_provisional=due.provisional,
                )
                moved.append((case, old, due))
        result.checked += len(rows)
        if moved:
            with transaction.atomic():
                _store_due_dates([case for case, _old, _due in moved])
                if on_change is not None:
                    on_change(moved)
            result.changed += len(moved)


def _store_due_dates(cases):
    from django.db import connection

    if connection.vendor != "postgresql":
        Case.objects.bulk_update(cases, ["due_date", "at_risk_from", "due_provisional"])
        return
    # Four arrays, not 4 × 2,000 parameters: the statement stays short and psycopg sends each
    # column as one value.
    table = Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET due_date = v.due, at_risk_from = v.risk, "
            "due_provisional = v.provisional "
            "FROM unnest(%s::bigint[], %s::date[], %s::date[], %s::boolean[]) "
            "AS v(id, due, risk, provisional) WHERE c.id = v.id",
            [
                [case.pk for case in cases],
                [case.due_date for case in cases],
                [case.at_risk_from for case in cases],
                [case.due_provisional for case in cases],
            ],
        )


def case_progress(case, calendar=None):
    """(DueDate, Progress) for an open case, else (DueDate or None, None)."""
    calendar = calendar or business_calendar()
    due = due_date_for(case, calendar)
    if due is None or case.state not in OPEN_STATES:
        return due, None
    return due, progress(calendar, due, timezone.localdate())
