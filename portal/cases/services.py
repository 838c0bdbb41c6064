"""The rules of service cases, called by the resident's views, the admin, the API and tasks.

Applying:   start_draft → save_draft → submit (reference and due date)
Due dates:  due_date_for(case) (explained), refresh_due_date(case), recompute_open_cases()
Access:     cases_of(user), case_for_applicant(user, pk), document_for(user, case_pk, doc_pk)
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.workcalendar.periods import Extension, Pause, compute_due_date, progress
from portal.workcalendar.services import business_calendar

from . import notifications
from .forms import DOCUMENT_TYPES, sniff_document
from .models import (
    OPEN_STATES,
    Case,
    CaseDocument,
    CaseState,
    FormField,
    ReferenceSequence,
)

logger = logging.getLogger(__name__)


class CaseError(Exception):
    """A rule refused the request; the message is for the person who asked, translated."""


def at_risk_share():
    return float(getattr(settings, "CASES_AT_RISK_SHARE", 0.8))


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
    return document


def documents_by_field(case):
    return {
        d.field_key: d
        for d in case.documents.all()
        if d.kind == CaseDocument.Kind.APPLICATION and d.field_key
    }


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


@transaction.atomic
def submit(case, *, by):
    """Send a draft: check it is complete, give it its reference, start the clock and work out
    the due date. Returns the case. Raises CaseError when something required is missing."""
    case = Case.objects.select_for_update().select_related("office", "service").get(pk=case.pk)
    if case.state != CaseState.DRAFT:
        raise CaseError(_("This application has been sent already."))
    missing = missing_answers(case)
    if missing:
        raise CaseError(
            _("Some required answers are missing: %(fields)s")
            % {"fields": ", ".join(str(spec.label) for spec in missing)}
        )
    now = timezone.now()
    today = timezone.localdate(now)
    case.reference = allocate_reference(case.office, today.year)
    case.submitted_at = now
    case.received_on = today
    case.state = CaseState.SUBMITTED
    due, _changed = refresh_due_date(case, save=False)
    case.save()
    notifications.case_submitted(case, due)
    return case


# Due dates --------------------------------------------------------------------------------------


def due_date_for(case, calendar=None, *, pauses=None, extensions=None):
    """The case's DueDate (see portal.workcalendar.periods), or None before it is received.
    `pauses` and `extensions` may be passed in when they were read in bulk."""
    if case.received_on is None:
        return None
    calendar = calendar or business_calendar()
    if pauses is None:
        pauses = list(case.pauses.all())
    if extensions is None:
        extensions = list(case.extensions.all())
    return compute_due_date(
        calendar,
        case.received_on,
        case.service.promised_days,
        [Pause(p.started_on, p.ended_on, p.reason) for p in pauses],
        [Extension(e.days, e.reason) for e in extensions],
        at_risk_share=at_risk_share(),
    )


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
    ones that moved, in batches. `on_change(case, old_due, new_due)` is called for each moved
    case inside its batch's transaction (the history records it). Idempotent: a second run
    finds nothing to change."""
    from .models import CaseExtension, CasePause

    calendar = calendar or business_calendar()
    result = RecomputeResult()
    last_pk = 0
    while True:
        cases = list(
            Case.objects.filter(state__in=OPEN_STATES, received_on__isnull=False, pk__gt=last_pk)
            .select_related("service")
            .only(
                "pk",
                "received_on",
                "due_date",
                "at_risk_from",
                "due_provisional",
                "service__promised_days",
            )
            .order_by("pk")[:batch_size]
        )
        if not cases:
            return result
        last_pk = cases[-1].pk
        ids = [case.pk for case in cases]
        pauses, extensions = {}, {}
        for pause in CasePause.objects.filter(case_id__in=ids):
            pauses.setdefault(pause.case_id, []).append(pause)
        for extension in CaseExtension.objects.filter(case_id__in=ids):
            extensions.setdefault(extension.case_id, []).append(extension)
        moved = []
        for case in cases:
            old = case.due_date
            due = due_date_for(
                case,
                calendar,
                pauses=pauses.get(case.pk, []),
                extensions=extensions.get(case.pk, []),
            )
            if _apply(case, due):
                moved.append((case, old, due))
        result.checked += len(cases)
        if moved:
            with transaction.atomic():
                Case.objects.bulk_update(
                    [case for case, _old, _due in moved],
                    ["due_date", "at_risk_from", "due_provisional"],
                    batch_size=batch_size,
                )
                if on_change is not None:
                    for case, old, due in moved:
                        on_change(case, old, due)
            result.changed += len(moved)


def case_progress(case, calendar=None):
    """(DueDate, Progress) for an open case, else (DueDate or None, None)."""
    calendar = calendar or business_calendar()
    due = due_date_for(case, calendar)
    if due is None or case.state not in OPEN_STATES:
        return due, None
    return due, progress(calendar, due, timezone.localdate())


# Status wording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusWording:
    status: str  # PublicStatus value
    label: str
    next_step: str
    tone: str


def status_wording(case, texts=None):
    """What the resident reads for the case's status: the service's own wording where it has
    one, else the default. `texts` may be the service's StatusText rows, read in bulk."""
    from .models import localized
    from .statuses import DEFAULT_NEXT_STEP, TAG_TONE, PublicStatus

    status = PublicStatus(case.public_status)
    if texts is None:
        texts = [t for t in case.service.status_texts.all() if t.status == status]
    own = next((t for t in texts if t.status == status), None)
    label = (own and localized(own, "label")) or status.label
    next_step = (own and localized(own, "next_step")) or DEFAULT_NEXT_STEP[status]
    return StatusWording(status.value, str(label), str(next_step), TAG_TONE[status])


# Access -----------------------------------------------------------------------------------------


def cases_of(user):
    """A resident's own cases (drafts included)."""
    return Case.objects.filter(applicant=user)


def case_for_applicant(user, pk):
    """The resident's case `pk`, or None: another resident's case is the same as none."""
    return cases_of(user).select_related("service", "office").filter(pk=pk).first()


def is_officer_of(user, office_id):
    return user.is_authenticated and (
        user.is_superuser or user.case_offices.filter(pk=office_id).exists()
    )


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
    if is_officer_of(user, document.case.office_id):
        return document
    return None
