"""Officers work cases in the Wagtail admin: the queue of their office, one case, the office
dashboard. Every view asks services.offices_of(user): another office's case is a 404."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.workflow import TransitionError

from . import services
from .forms import (
    ApplicantForm,
    ApplicationForm,
    CorrectionForm,
    DocumentUploadForm,
    ExtensionForm,
    HotlineForm,
    IdentityForm,
    MessageForm,
    StepForm,
    WindowFindForm,
    answer_rows,
)
from .lifecycle import OFFICE_STEPS
from .models import OPEN_STATES, CaseDocument, CaseState, Service

QUEUE_PAGE_SIZE = 50
QUEUE_COUNT_CAP = 1000
_ID = re.compile(r"^[0-9]{1,18}$")


def _int(value):
    return int(value) if isinstance(value, str) and _ID.match(value) else None


def _require_officer(request):
    if not request.user.has_perm("cases.view_case"):
        raise PermissionDenied


class QueuePage:
    """One page of the queue without counting all of it: the page's rows and one more say
    whether there is a next page, and the total is counted up to QUEUE_COUNT_CAP only (an
    exact count of 100,000 open cases was the page's most expensive query). A page past the
    end shows the first."""

    def __init__(self, cases, number):
        self.number = min(max(1, number or 1), 100_000)
        rows = self._slice(cases)
        if not rows and self.number > 1:
            self.number = 1
            rows = self._slice(cases)
        self.has_next = len(rows) > QUEUE_PAGE_SIZE
        self.rows = rows[:QUEUE_PAGE_SIZE]
        self.has_previous = self.number > 1
        if not self.has_next and not self.has_previous:
            self.count = len(self.rows)
        else:
            self.count = cases.order_by()[: QUEUE_COUNT_CAP + 1].count()
        self.count_capped = self.count > QUEUE_COUNT_CAP
        self.count = min(self.count, QUEUE_COUNT_CAP)
        self.has_other_pages = self.has_next or self.has_previous
        self.previous_page_number = self.number - 1
        self.next_page_number = self.number + 1

    def _slice(self, cases):
        start = (self.number - 1) * QUEUE_PAGE_SIZE
        return list(cases[start : start + QUEUE_PAGE_SIZE + 1])


def queue(request):
    """GET: the queue, sorted by working days left, with filters."""
    _require_officer(request)
    offices = list(services.offices_of(request.user))
    office = None
    office_id = _int(request.GET.get("office"))
    if office_id is not None:
        office = next((o for o in offices if o.pk == office_id), None)
        if office is None:
            raise Http404
    elif len(offices) == 1:
        office = offices[0]
    state = request.GET.get("status", "open")
    if state not in {"open", ""} and state not in CaseState.values:
        state = "open"
    # One query for the service filter's choices, which also finds the service asked for.
    service_choices = list(Service.objects.filter(office__in=[office] if office else offices))
    service_id = _int(request.GET.get("service"))
    service = next((s for s in service_choices if s.pk == service_id), None)
    risk = request.GET.get("risk", "")
    risk = risk if risk in {"overdue", "at_risk"} else ""
    assigned = request.GET.get("assigned", "")
    if assigned not in {"", "me", "none"}:
        assigned = str(_int(assigned) or "")
    cases = services.office_queue(
        request.user,
        office=office,
        state=state,
        service=service,
        risk=risk,
        assigned=assigned,
        offices=offices,
    ).select_related("service", "assigned_to")
    page = QueuePage(cases, _int(request.GET.get("page")))
    rows = page.rows
    left = services.working_days_left(rows) if rows else {}
    labels = dict(CaseState.choices)
    query = request.GET.copy()
    query.pop("page", None)
    return TemplateResponse(
        request,
        "cases/staff/queue.html",
        {
            "offices": offices,
            "office": office,
            "page": page,
            # The state's label from one dict (get_state_display hashes every choice per row).
            "rows": [
                (case, left.get(case.pk), labels.get(case.state, case.state)) for case in rows
            ],
            "state": state,
            "states": CaseState.choices[1:],
            "services": service_choices,
            "service": service,
            "risk": risk,
            "assigned": assigned,
            "query": query.urlencode(),
        },
    )


def _case(request, pk):
    case = (
        services.office_cases(request.user)
        .select_related("service", "office", "applicant__profile", "assigned_to")
        .filter(pk=_int(str(pk)))
        .first()
    )
    if case is None:
        raise Http404
    return case


def case_detail(request, pk):
    """One case: what the resident sent, the due date and its explanation, documents,
    messages; and the officer's actions."""
    _require_officer(request)
    case = _case(request, pk)
    extension_form = ExtensionForm(prefix="extension")
    message_form = MessageForm(prefix="message")
    document_form = DocumentUploadForm(prefix="document")
    correction_form = CorrectionForm(prefix="correction")
    if request.method == "POST":
        if not request.user.has_perm("cases.change_case"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "step":
                return _take_step(request, case)
            if action == "correction":
                correction_form = CorrectionForm(request.POST, prefix="correction")
                if correction_form.is_valid():
                    services.request_correction(
                        case, correction_form.cleaned_data["message"], by=request.user
                    )
                    messages.success(request, _("The resident is asked for the correction."))
                    return redirect("cases_admin_case", pk=case.pk)
            if action == "assign_me":
                services.assign(case, request.user, by=request.user)
                messages.success(request, _("The case is assigned to you."))
                return redirect("cases_admin_case", pk=case.pk)
            if action == "unassign":
                services.assign(case, None, by=request.user)
                messages.success(request, _("The case is no longer assigned."))
                return redirect("cases_admin_case", pk=case.pk)
            if action == "extend":
                extension_form = ExtensionForm(request.POST, prefix="extension")
                if extension_form.is_valid():
                    services.grant_extension(
                        case,
                        extension_form.cleaned_data["days"],
                        extension_form.cleaned_data["reason"],
                        by=request.user,
                    )
                    messages.success(request, _("The extension is granted."))
                    return redirect("cases_admin_case", pk=case.pk)
            elif action == "message":
                message_form = MessageForm(request.POST, prefix="message")
                if message_form.is_valid():
                    services.post_message(
                        case, message_form.cleaned_data["body"], by=request.user, from_office=True
                    )
                    messages.success(request, _("The message is sent to the resident."))
                    return redirect("cases_admin_case", pk=case.pk)
            elif action == "document":
                document_form = DocumentUploadForm(request.POST, request.FILES, prefix="document")
                if document_form.is_valid():
                    kind = (
                        CaseDocument.Kind.DECISION
                        if request.POST.get("decision")
                        else CaseDocument.Kind.OFFICE
                    )
                    services.store_document(
                        case, document_form.cleaned_data["file"], kind=kind, by=request.user
                    )
                    messages.success(request, _("The document is attached."))
                    return redirect("cases_admin_case", pk=case.pk)
            else:
                messages.error(request, _("Unknown action."))
        except (services.CaseError, TransitionError) as error:
            messages.error(request, str(error))
            return redirect("cases_admin_case", pk=case.pk)
    due, progress = services.case_progress(case)
    steps = services.allowed_steps(case, request.user)
    return TemplateResponse(
        request,
        "cases/staff/case.html",
        {
            "case": case,
            "due": due,
            "progress": progress,
            "rows": answer_rows(
                list(case.service.form_fields.all()),
                case.answers,
                services.documents_by_field(case),
            ),
            "documents": list(case.documents.all()),
            "case_messages": list(case.messages.select_related("author")),
            "extension_form": extension_form,
            "message_form": message_form,
            "document_form": document_form,
            "status": services.status_wording(case),
            "open": case.state in OPEN_STATES,
            "estimate": services.is_estimate(case),
            "steps": [
                (step, OFFICE_STEPS[step.name])
                for step in steps
                if step.name != "request_correction"
            ],
            "can_request_correction": any(s.name == "request_correction" for s in steps),
            "correction_form": correction_form,
            "history": services.history(case, staff=True),
        },
    )


def _take_step(request, case):
    """POST action=step: one of the steps the table allows from the case's state. A step the
    table does not allow (a stale page, a forged form) is refused with its message."""
    form = StepForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("cases_admin_case", pk=case.pk)
    name = form.cleaned_data["step"]
    if name not in {step.name for step in services.allowed_steps(case, request.user)}:
        from .lifecycle import CaseTransitionRefused

        raise CaseTransitionRefused(state=case.get_state_display())
    change = services.move(
        case,
        name,
        by=request.user,
        reason=form.cleaned_data["reason"],
        note=form.cleaned_data["note"],
    )
    messages.success(
        request,
        _("Done: the case is now “%(state)s”.") % {"state": change.obj.get_state_display()},
    )
    return redirect("cases_admin_case", pk=case.pk)


def dashboard(request):
    _require_officer(request)
    offices = services.offices_of(request.user)
    today = timezone.localdate()
    return TemplateResponse(
        request,
        "cases/staff/dashboard.html",
        {
            "rows": services.office_dashboard(offices, today=today),
            "month": today.replace(day=1),
            "offices": list(offices),
            "queue_url": reverse("cases_admin_queue"),
        },
    )


# The window, the hotline, identities -------------------------------------------------------------


def _my_services(request, kinds):
    return (
        Service.objects.filter(
            office__in=services.offices_of(request.user), is_active=True, kind__in=kinds
        )
        .select_related("office")
        .order_by("office__code", "sort_order", "code")
    )


def _require_changer(request):
    _require_officer(request)
    if not request.user.has_perm("cases.change_case"):
        raise PermissionDenied


def window(request):
    """Step 1 at the window: the service, and the resident by ID number or phone."""
    _require_changer(request)
    choices = _my_services(request, [Service.Kind.APPLICATION])
    form = WindowFindForm(request.GET or None, services=choices)
    residents = None
    if form.is_valid() and form.cleaned_data["query"]:
        residents = services.find_residents(form.cleaned_data["query"])
    return TemplateResponse(
        request,
        "cases/staff/window.html",
        {
            "form": form,
            "residents": residents,
            "service": form.cleaned_data["service"] if form.is_bound and form.is_valid() else None,
        },
    )


def window_file(request, service_pk):
    """Step 2: the service's form filled in with the resident; filing receives the case."""
    from django.contrib.auth import get_user_model

    _require_changer(request)
    service = _my_services(request, [Service.Kind.APPLICATION]).filter(pk=service_pk).first()
    if service is None:
        raise Http404
    resident = None
    resident_id = _int(request.GET.get("resident") or request.POST.get("resident"))
    if resident_id is not None:
        resident = get_user_model().objects.filter(pk=resident_id).select_related("profile").first()
        if resident is None:
            raise Http404
    specs = list(service.form_fields.all())
    data = request.POST if request.method == "POST" else None
    form = ApplicationForm(data, request.FILES or None, specs=specs)
    applicant_form = None if resident else ApplicantForm(data, prefix="applicant")
    if request.method == "POST" and form.is_valid() and (resident or applicant_form.is_valid()):
        extra = {}
        if applicant_form is not None:
            extra = {
                "name": applicant_form.cleaned_data["name"],
                "id_number": applicant_form.cleaned_data["id_number"],
                "phone": applicant_form.cleaned_data["phone"],
            }
        try:
            case = services.file_at_window(
                service,
                officer=request.user,
                answers=form.answers(),
                uploads=form.uploads(),
                applicant=resident,
                **extra,
            )
        except services.CaseError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Filed as %(reference)s. Give the applicant this reference.")
                % {"reference": case.reference},
            )
            return redirect("cases_admin_case", pk=case.pk)
    return TemplateResponse(
        request,
        "cases/staff/window_file.html",
        {"service": service, "resident": resident, "form": form, "applicant_form": applicant_form},
    )


def hotline(request):
    """The district hotline: an operator records an enquiry or complaint from a call."""
    _require_changer(request)
    choices = _my_services(request, [Service.Kind.ENQUIRY, Service.Kind.COMPLAINT])
    form = HotlineForm(request.POST or None, services=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.record_hotline_call(
                data["service"],
                operator=request.user,
                category=data["category"],
                description=data["description"],
                street=data["street"],
                community=data["community"],
                caller_name=data["caller_name"],
                phone=data["phone"],
            )
        except services.CaseError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Recorded as %(reference)s. Read the reference to the caller.")
                % {"reference": case.reference},
            )
            return redirect("cases_admin_case", pk=case.pk)
    return TemplateResponse(request, "cases/staff/hotline.html", {"form": form})


def identity(request):
    """Record a resident's ID number after seeing the card; cases filed for that number
    without an account join their My page."""
    from django.contrib.auth import get_user_model

    _require_changer(request)
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = get_user_model().objects.filter(email__iexact=form.cleaned_data["email"]).first()
        if user is None:
            form.add_error("email", _("No account has this e-mail address."))
        else:
            try:
                _identity, linked = services.verify_identity(
                    user, form.cleaned_data["id_number"], by=request.user
                )
            except services.CaseError as error:
                form.add_error("id_number", str(error))
            else:
                messages.success(
                    request,
                    _("The ID number is recorded; %(count)s earlier cases joined the account.")
                    % {"count": len(linked)},
                )
                return redirect("cases_admin_identity")
    return TemplateResponse(request, "cases/staff/identity.html", {"form": form})
