"""The rules of service cases, called by the resident's views, the admin, the API and tasks.

Applying:   start_draft → save_draft → submit (reference and due date)
Lifecycle:  move(case, step, by=...) through portal.workflow (lifecycle.py declares the table),
            allowed_steps(case, user), request_correction, resubmit, withdraw, grant_extension
Due dates:  due_date_for(case) (explained), refresh_due_date(case), recompute_open_cases()
Access:     cases_of(user), case_for_applicant(user, pk), document_for(user, case_pk, doc_pk)
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import scoping
from portal.workcalendar.services import business_calendar
from portal.workflow import transition

from . import notifications
from .clock import (  # noqa: F401  (the rules' due-date part, used through services)
    ONE_DAY,
    RecomputeResult,
    _iso,
    at_risk_share,
    case_progress,
    clock_start,
    counted_pauses,
    due_date_for,
    is_estimate,
    recompute_open_cases,
    refresh_due_date,
)
from .feed import record_event
from .forms import DOCUMENT_TYPES, sniff_document
from .lifecycle import record_due_date_changes  # noqa: F401  (the nightly task's recorder)
from .models import (
    OPEN_STATES,
    Case,
    CaseDocument,
    CaseState,
    FormField,
    ReferenceSequence,
    ResidentIdentity,
    Service,
)
from .wording import StatusWording, status_wording  # noqa: F401

logger = logging.getLogger(__name__)


class CaseError(Exception):
    """A rule refused the request; the message is for the person who asked, translated."""


# Applying ---------------------------------------------------------------------------------------


def open_draft(user, service):
    """The resident's unsent application for `service`, if any (one per service)."""
    return (
        Case.objects.filter(applicant=user, service=service, state=CaseState.DRAFT)
        .order_by("-updated_at")
        .first()
    )


def start_draft(user, service, *, channel=Case.Channel.ONLINE, filed_by=None):
    if not service.is_active or not service.office.is_active:
        raise CaseError(_("This service cannot be applied for at the moment."))
    if channel == Case.Channel.ONLINE and not service.online:
        raise CaseError(_("This service cannot be applied for online. Please apply at the office."))
    if user is not None and channel == Case.Channel.ONLINE:
        existing = open_draft(user, service)
        if existing is not None:
            return existing
    return Case.objects.create(
        service=service,
        office=service.office,
        applicant=user,
        channel=channel,
        filed_by=filed_by,
        state=CaseState.DRAFT,
    )


def store_document(case, upload, *, kind, field_key="", by=None):
    """Keep an uploaded file (already validated by the form) with the case. For a form field,
    a new upload replaces the draft's earlier one."""
    type_name = sniff_document(upload)
    if type_name is None:
        raise CaseError(_("This file is not a PDF, JPEG or PNG. Please upload one of those."))
    if field_key and kind == CaseDocument.Kind.APPLICATION:
        for old in case.documents.filter(field_key=field_key, kind=kind):
            old.file.delete(save=False)
            old.delete()
    name = "".join(ch for ch in str(upload.name) if ch.isprintable()).replace("/", "_")
    document = CaseDocument(
        case=case,
        kind=kind,
        field_key=field_key,
        filename=(name or "document")[-200:],
        content_type=DOCUMENT_TYPES[type_name][0],
        size=upload.size,
        uploaded_by=by,
    )
    document.file.save("upload", upload, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    if case.state != CaseState.DRAFT:
        record_event(case, "case.document", document=document.pk, kind=kind)
        if kind in {CaseDocument.Kind.DECISION, CaseDocument.Kind.OFFICE}:
            notifications.office_document(case, document)
    return document


def documents_by_field(case):
    """The document on file for each form field: a correction's upload replaces the one sent
    with the application (documents come oldest first)."""
    kinds = {CaseDocument.Kind.APPLICATION, CaseDocument.Kind.CORRECTION}
    return {d.field_key: d for d in case.documents.all() if d.kind in kinds and d.field_key}


@transaction.atomic
def save_draft(case, answers, uploads, *, by):
    """Store answers (merged over the draft's) and uploads on a draft."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.state != CaseState.DRAFT:
        raise CaseError(_("This application has been sent already and cannot be changed."))
    case.answers = {**case.answers, **answers}
    case.save(update_fields=["answers", "updated_at"])
    for key, upload in uploads.items():
        store_document(case, upload, kind=CaseDocument.Kind.APPLICATION, field_key=key, by=by)
    return case


def missing_answers(case, specs=None):
    """The required questions and documents a draft still lacks."""
    specs = list(specs if specs is not None else case.service.form_fields.all())
    documents = documents_by_field(case)
    missing = []
    for spec in specs:
        if not spec.required:
            continue
        if spec.field_type == FormField.Type.DOCUMENT:
            if spec.key not in documents:
                missing.append(spec)
        elif case.answers.get(spec.key) in (None, "", [], False):
            missing.append(spec)
    return missing


def allocate_reference(office, year):
    """The next reference of `office` in `year`: OFFICE-YEAR-000001. Must run inside the
    transaction that saves the case: the row lock serialises concurrent submissions to one
    office, and a rollback gives the number back, so there are no gaps."""
    ReferenceSequence.objects.bulk_create(
        [ReferenceSequence(office=office, year=year, last=0)], ignore_conflicts=True
    )
    sequence = ReferenceSequence.objects.select_for_update().get(office=office, year=year)
    ReferenceSequence.objects.filter(pk=sequence.pk).update(last=F("last") + 1)
    return f"{office.code}-{year}-{sequence.last + 1:06d}"


# How a draft is sent, by channel: online it is "submitted" and waits for the office to accept
# it; an officer taking it in at the window or from a call accepts it in the same step.
RECEIVING_STEPS = {
    Case.Channel.ONLINE: "submit",
    Case.Channel.WINDOW: "receive_at_window",
    Case.Channel.HOTLINE: "receive_call",
}


@transaction.atomic
def submit(case, *, by, check_answers=True):
    """Send a draft: check it is complete, give it its reference, start the clock and work out
    the due date. A case an officer files at the window or records from a hotline call is
    received and accepted at once, by that officer (the clock starts today). Returns the
    case. Raises CaseError when something required is missing."""
    from .lifecycle import CASE

    case = Case.objects.select_for_update().select_related("office", "service").get(pk=case.pk)
    if case.state != CaseState.DRAFT:
        raise CaseError(_("This application has been sent already."))
    missing = missing_answers(case) if check_answers else []
    if missing:
        raise CaseError(
            _("Some required answers are missing: %(fields)s")
            % {"fields": ", ".join(str(spec.label) for spec in missing)}
        )
    now = timezone.now()
    today = timezone.localdate(now)
    step = CASE.step(RECEIVING_STEPS.get(case.channel, "submit"))
    transition(
        case,
        step.target,
        by=by,
        step=step.name,
        values={
            "reference": allocate_reference(case.office, today.year),
            "submitted_at": now,
            "received_on": today,
            "updated_at": now,
        },
        at=now,
    )
    return case


# Access -----------------------------------------------------------------------------------------


def cases_of(user):
    """A resident's own cases (drafts included)."""
    return Case.objects.filter(applicant=user)


def case_for_applicant(user, pk):
    """The resident's case `pk`, or None: another resident's case is the same as none."""
    return cases_of(user).select_related("service", "office").filter(pk=pk).first()


def document_for(user, case_pk, document_pk):
    """A document of case `case_pk` that `user` may open: the applicant's own, or any of a
    case of an office the user works for. None otherwise."""
    document = (
        CaseDocument.objects.select_related("case").filter(pk=document_pk, case_id=case_pk).first()
    )
    if document is None or not user.is_authenticated:
        return None
    if document.case.applicant_id == user.pk:
        return document
    if scoping.allows(user, document.case, scoping.VIEW):
        return document
    return None


# Officers ---------------------------------------------------------------------------------------


def offices_of(user):
    """The offices whose cases `user` works: a superuser's are all of them."""
    from .models import Office
    from .scopes import offices_of as officer_offices

    if not user.is_authenticated:
        return Office.objects.none()
    if user.is_superuser:
        return Office.objects.all()
    return officer_offices(user)


def office_cases(user, action=scoping.VIEW):
    """Every case (drafts excepted) of the offices `user` works for (portal.scoping)."""
    return scoping.visible(user, Case, action).exclude(state=CaseState.DRAFT)


QUEUE_FILTERS = ("status", "service", "risk", "assigned")


def office_queue(
    user,
    *,
    office=None,
    state="",
    service=None,
    risk="",
    assigned="",
    today=None,
    offices=None,
):
    """The officer queue: `user`'s offices' cases (or one office's), filtered, sorted by
    working days left (the due date; cases without one last). `risk` is "overdue", "at_risk"
    or ""; `assigned` is "me", "none", an officer's id or "". `offices`: `offices_of(user)`
    when the caller has read it already (the queue page has, for its office menu)."""
    today = today or timezone.localdate()
    office_ids = [o.pk for o in (offices if offices is not None else offices_of(user))]
    if office is not None:
        if office.pk not in office_ids:
            return Case.objects.none()
        cases = Case.objects.filter(office_id=office.pk)
    else:
        # The ids, not a subquery: the planner then picks the queue's index per office.
        cases = Case.objects.filter(office_id__in=office_ids)
    cases = cases.exclude(state=CaseState.DRAFT)
    if state == "open":
        cases = cases.filter(state__in=OPEN_STATES)
    elif state:
        cases = cases.filter(state=state)
    if service is not None:
        cases = cases.filter(service=service)
    if risk == "overdue":
        cases = cases.filter(state__in=OPEN_STATES, due_date__lt=today)
    elif risk == "at_risk":
        cases = cases.filter(state__in=OPEN_STATES, at_risk_from__lte=today, due_date__gte=today)
    if assigned == "me":
        cases = cases.filter(assigned_to=user)
    elif assigned == "none":
        cases = cases.filter(assigned_to__isnull=True)
    elif assigned:
        cases = cases.filter(assigned_to_id=assigned)
    return cases.order_by(F("due_date").asc(nulls_last=True), "pk")


def working_days_left(cases, calendar=None, today=None):
    """{case pk: (state, working days)} for the open cases among `cases` (one page of a queue):
    ("on_track"|"at_risk", days left) or ("overdue", working days late)."""
    calendar = calendar or business_calendar()
    today = today or timezone.localdate()
    result = {}
    for case in cases:
        if case.state in OPEN_STATES and case.due_date:
            if today > case.due_date:
                late = calendar.working_days_between(case.due_date + ONE_DAY, today + ONE_DAY)
                result[case.pk] = ("overdue", max(1, late))
            else:
                left = calendar.working_days_between(today, case.due_date)
                state = (
                    "at_risk" if case.at_risk_from and today >= case.at_risk_from else "on_track"
                )
                result[case.pk] = (state, left)
    return result


@transaction.atomic
def assign(case, officer, *, by):
    """Give the case to `officer` (None: nobody), who must work for its office."""
    if officer is not None and not offices_of(officer).filter(pk=case.office_id).exists():
        raise CaseError(_("That officer does not work for this case's office."))
    Case.objects.filter(pk=case.pk).update(assigned_to=officer, updated_at=timezone.now())
    case.assigned_to = officer
    return case


@transaction.atomic
def grant_extension(case, days, reason, *, by):
    """Extend the case by `days` working days, within the service's rule (the total of all
    extensions may not pass it), with a reason the resident sees."""
    from .lifecycle import extend_step
    from .models import CaseExtension

    case = Case.objects.select_for_update().select_related("service").get(pk=case.pk)
    limit = case.service.extension_max_days or 0
    if not limit:
        raise CaseError(_("This service allows no extension."))
    if case.state not in OPEN_STATES:
        raise CaseError(_("Only a case still being worked on can be extended."))
    granted = sum(e.days for e in case.extensions.all())
    if days < 1 or granted + days > limit:
        raise CaseError(
            _("This service allows at most %(limit)s working days of extension; %(left)s are left.")
            % {"limit": limit, "left": max(0, limit - granted)}
        )
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise CaseError(_("Give the reason for the extension: the resident reads it."))
    extension = CaseExtension.objects.create(
        case=case, days=days, reason=reason[:300], granted_by=_user(by)
    )
    # The history row, the new due date and the resident's message, through the lifecycle
    # (the state stays as it is).
    transition(
        case,
        case.state,
        by=by,
        step=extend_step(case.state),
        reason=reason,
        note=str(_("%(days)s working days") % {"days": days}),
    )
    record_event(case, "case.extended", days=days, due_date=_iso(case.due_date))
    return extension


def _user(by):
    from portal.workflow import System

    user = by.user if isinstance(by, System) else by
    return user if user is not None and getattr(user, "pk", None) else None


@transaction.atomic
def post_message(case, body, *, by, from_office):
    """A message on the case page between the resident and the office."""
    from .models import CaseMessage

    message = CaseMessage.objects.create(case=case, author=by, body=body, from_office=from_office)
    record_event(case, "case.message", message=message.pk, from_office=from_office)
    if from_office:
        notifications.office_message(case, message)
    return message


# The lifecycle ----------------------------------------------------------------------------------


def move(case, step, *, by, reason="", note=""):
    """Take lifecycle step `step` (a name from lifecycle.py) on `case`, as `by` (the applicant,
    an officer of the case's office, or a System). The table decides whether the step is
    open from the case's state and to whom; a refusal raises TransitionError (a clear message
    in the active language; APIs answer it with a 409) and changes nothing."""
    from .lifecycle import CASE

    target = CASE.step(step).target
    with transaction.atomic():
        change = transition(case, target, by=by, step=step, reason=reason, note=note)
    return change


def allowed_steps(case, user):
    """The office steps (lifecycle.OFFICE_STEPS) open from the case's state, for buttons. The
    caller has checked the user may act on the case (scoping)."""
    from .lifecycle import CASE, OFFICE_STEPS, STAFF

    return [
        CASE.step(name)
        for name in OFFICE_STEPS
        if CASE.allows(case, name) and STAFF in CASE.step(name).by
    ]


def can_withdraw(case):
    from .lifecycle import CASE

    return CASE.allows(case, "withdraw")


def request_correction(case, message, *, by):
    """Ask the resident for a correction: the clock stops until they send it. `message` (what
    is needed) is the reason the resident reads, and the pause's "while we waited for"."""
    return move(case, "request_correction", by=by, reason=message)


@transaction.atomic
def resubmit(case, answers, uploads, *, by):
    """The resident's correction: changed answers and new documents, then the clock runs
    again. Raises TransitionError unless a correction was asked for."""
    from .lifecycle import CASE

    # Lock the row, then read it into the caller's object (which the transition updates).
    Case.objects.select_for_update().filter(pk=case.pk).exists()
    case.refresh_from_db(fields=["state", "answers"])
    CASE.check(case, "resubmit")
    if answers:
        case.answers = {**case.answers, **answers}
        Case.objects.filter(pk=case.pk).update(answers=case.answers)
    for key, upload in uploads.items():
        store_document(case, upload, kind=CaseDocument.Kind.CORRECTION, field_key=key, by=by)
    transition(case, CaseState.RESUBMITTED, by=by, step="resubmit")
    return case


def withdraw(case, *, by, reason=""):
    """The resident withdraws before the decision (officers: `withdraw_for_resident`)."""
    return move(case, "withdraw", by=by, reason=reason)


def history(case, *, staff=False):
    """The case's history as timeline entries (one history: the workflow's)."""
    from portal.workflow import history as workflow_history

    audience = workflow_history.STAFF_AUDIENCE if staff else workflow_history.RESIDENT_AUDIENCE
    return workflow_history.timeline(case, audience=audience)


def open_correction(case):
    """What the office asked for, while a correction is awaited (the open pause), or None."""
    if case.state != CaseState.CORRECTION_REQUESTED:
        return None
    return case.pauses.filter(ended_on__isnull=True).first()


def decision_documents(documents):
    return [d for d in documents if d.kind == CaseDocument.Kind.DECISION]


# Reports ----------------------------------------------------------------------------------------


def month_bounds(day):
    from datetime import date

    first = day.replace(day=1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, following


def office_dashboard(offices, *, today=None, calendar=None):
    """This month's cases per service of `offices`: received, decided on time, decided late,
    still open and overdue, and the median working days from receipt to decision."""
    from statistics import median

    today = today or timezone.localdate()
    calendar = calendar or business_calendar()
    first, following = month_bounds(today)
    rows = {}
    received = Case.objects.filter(
        office__in=offices, received_on__gte=first, received_on__lt=following
    ).select_related("service")
    decided = Case.objects.filter(
        office__in=offices, decided_on__gte=first, decided_on__lt=following
    ).select_related("service")
    overdue = Case.objects.filter(
        office__in=offices, state__in=OPEN_STATES, due_date__lt=today
    ).select_related("service")

    def row(service):
        return rows.setdefault(
            service.pk,
            {"service": service, "received": 0, "on_time": 0, "late": 0, "overdue": 0, "days": []},
        )

    for case in received:
        row(case.service)["received"] += 1
    for case in decided:
        entry = row(case.service)
        on_time = case.due_date is not None and case.decided_on <= case.due_date
        entry["on_time" if on_time else "late"] += 1
        entry["days"].append(
            calendar.working_days_between(
                calendar.next_working_day(clock_start(case)),
                case.decided_on + ONE_DAY,
            )
        )
    for case in overdue:
        row(case.service)["overdue"] += 1
    result = []
    for entry in sorted(rows.values(), key=lambda e: (e["service"].sort_order, e["service"].code)):
        days = entry.pop("days")
        entry["median_days"] = median(days) if days else None
        result.append(entry)
    return result


def on_time_by_month(months=12, *, today=None):
    """The public figure: per service and month, decided cases and the share decided by their
    due date. [(service, [(month first day, decided, on_time, share or None), ...]), ...]"""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncMonth

    from .models import Service

    today = today or timezone.localdate()
    start = today.replace(day=1)
    for _step in range(months - 1):
        start = (start - ONE_DAY).replace(day=1)
    rows = (
        Case.objects.filter(decided_on__gte=start, due_date__isnull=False)
        .annotate(month=TruncMonth("decided_on"))
        .values("service", "month")
        .annotate(
            decided=Count("pk"),
            on_time=Count("pk", filter=Q(decided_on__lte=F("due_date"))),
        )
    )
    by_service = {}
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") else month
        by_service.setdefault(row["service"], {})[month] = (row["decided"], row["on_time"])
    month_list = []
    cursor = start
    while cursor <= today:
        month_list.append(cursor)
        cursor = month_bounds(cursor)[1]
    services = Service.objects.filter(pk__in=by_service).select_related("office")
    table = []
    for service in sorted(services, key=lambda s: (s.sort_order, s.code)):
        cells = []
        for month in month_list:
            decided_count, on_time = by_service[service.pk].get(month, (0, 0))
            share = round(100 * on_time / decided_count) if decided_count else None
            cells.append((month, decided_count, on_time, share))
        table.append((service, cells))
    return month_list, table


# The window and the hotline ------------------------------------------------------------------


def find_residents(query, limit=10):
    """Residents by verified ID number or by mobile phone (what an officer at the window asks
    for). An empty or unusable query finds nobody."""
    from django.contrib.auth import get_user_model

    from .identity import normalise

    query = str(query or "").strip()
    if not query or len(query) > 40:
        return []
    users = get_user_model().objects.select_related("profile", "identity")
    number = normalise(query)
    digits = "".join(ch for ch in query if ch.isdigit() or ch == "+")
    found = list(
        users.filter(identity__id_number=number, identity__verified_at__isnull=False)[:limit]
    )
    if not found and len(digits) >= 8:
        found = list(users.filter(profile__phone=digits)[:limit])
    return found


def _check_officer(officer, service):
    if not offices_of(officer).filter(pk=service.office_id).exists():
        raise CaseError(_("You do not work for the office of this service."))


@transaction.atomic
def file_at_window(
    service, *, officer, answers, uploads=None, applicant=None, name="", id_number="", phone=""
):
    """An officer files a case for a resident at the service window: for an account (found by
    ID number or phone) or for an applicant without one (name, ID number, phone), who gets the
    case on My page once an account with that verified ID number exists. The officer has the
    applicant and the papers in front of them, so the case is received and accepted at once,
    by them (in the history): reference, the clock starts, due date, and the resident is
    told."""
    from .identity import normalise

    _check_officer(officer, service)
    if not service.is_active:
        raise CaseError(_("This service cannot be applied for at the moment."))
    number = normalise(id_number)
    if applicant is None and number:
        identity = ResidentIdentity.objects.filter(
            id_number=number, verified_at__isnull=False
        ).first()
        applicant = identity.user if identity else None
    if applicant is None and not (name and number):
        raise CaseError(_("Give the applicant's name and ID number."))
    case = Case.objects.create(
        service=service,
        office=service.office,
        applicant=applicant,
        channel=Case.Channel.WINDOW,
        filed_by=officer,
        applicant_name=name,
        applicant_id_number=number,
        applicant_phone=phone,
        answers=answers,
        state=CaseState.DRAFT,
    )
    for key, upload in (uploads or {}).items():
        store_document(case, upload, kind=CaseDocument.Kind.APPLICATION, field_key=key, by=officer)
    return submit(case, by=officer)


@transaction.atomic
def record_hotline_call(
    service,
    *,
    operator,
    category,
    description,
    street=None,
    community=None,
    caller_name="",
    phone="",
    applicant=None,
):
    """The hotline operator records an enquiry or complaint as a case, accepted at once by the
    operator (the promised reply time runs from the call). The caller follows it online (an
    account found by phone) or gets an SMS with the reference."""
    if service.kind not in {Service.Kind.ENQUIRY, Service.Kind.COMPLAINT}:
        raise CaseError(_("Hotline calls are recorded under an enquiry or complaint service."))
    _check_officer(operator, service)
    if applicant is None and phone:
        matches = find_residents(phone)
        applicant = matches[0] if len(matches) == 1 else None
    if street is not None and community is None:
        community = street.community
    case = Case.objects.create(
        service=service,
        office=service.office,
        applicant=applicant,
        channel=Case.Channel.HOTLINE,
        filed_by=operator,
        applicant_name=caller_name,
        applicant_phone=phone,
        category=category,
        street=street,
        community=community,
        answers={"description": description},
        state=CaseState.DRAFT,
    )
    case = submit(case, by=operator, check_answers=False)
    if applicant is None and phone:
        notifications.hotline_sms(case)
    return case


@transaction.atomic
def verify_identity(user, id_number, *, by):
    """Record that `by` saw `user`'s identity card with `id_number`, then link the cases filed
    for that number while the resident had no account."""
    from .identity import normalise, validate_id_number

    number = normalise(id_number)
    validate_id_number(number)
    other = ResidentIdentity.objects.filter(id_number=number).exclude(user=user).first()
    if other is not None:
        raise CaseError(_("This ID number belongs to another account."))
    identity, _created = ResidentIdentity.objects.update_or_create(
        user=user,
        defaults={"id_number": number, "verified_at": timezone.now(), "verified_by": by},
    )
    return identity, link_cases_for(identity)


def link_cases_for(identity):
    """Give the resident the cases filed for their verified ID number without an account."""
    if not identity.verified:
        return []
    cases = list(
        Case.objects.select_for_update()
        .filter(applicant__isnull=True, applicant_id_number=identity.id_number)
        .exclude(state=CaseState.DRAFT)
        .select_related("service", "office")
    )
    for case in cases:
        Case.objects.filter(pk=case.pk, applicant__isnull=True).update(applicant=identity.user)
        case.applicant = identity.user
        notifications.case_linked(case)
    return cases
