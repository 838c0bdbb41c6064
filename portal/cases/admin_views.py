"""Officers work cases in the Wagtail admin: the queue of their office, one case, the office
dashboard. Every view asks services.offices_of(user): another office's case is a 404."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import services
from .forms import DocumentUploadForm, ExtensionForm, MessageForm, answer_rows
from .models import OPEN_STATES, CaseDocument, CaseState, Service

QUEUE_PAGE_SIZE = 50
_ID = re.compile(r"^[0-9]{1,18}$")


def _int(value):
    return int(value) if isinstance(value, str) and _ID.match(value) else None


def _require_officer(request):
    if not request.user.has_perm("cases.view_case"):
        raise PermissionDenied


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
    service_choices = Service.objects.filter(office__in=[office] if office else offices)
    service = service_choices.filter(pk=_int(request.GET.get("service"))).first()
    risk = request.GET.get("risk", "")
    risk = risk if risk in {"overdue", "at_risk"} else ""
    assigned = request.GET.get("assigned", "")
    if assigned not in {"", "me", "none"}:
        assigned = str(_int(assigned) or "")
    cases = services.office_queue(
        request.user, office=office, state=state, service=service, risk=risk, assigned=assigned
    ).select_related("service", "assigned_to", "applicant__profile")
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    left = services.working_days_left(rows)
    query = request.GET.copy()
    query.pop("page", None)
    return TemplateResponse(
        request,
        "cases/staff/queue.html",
        {
            "offices": offices,
            "office": office,
            "page": page,
            "rows": [(case, left.get(case.pk)) for case in rows],
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
    if request.method == "POST":
        if not request.user.has_perm("cases.change_case"):
            raise PermissionDenied
        action = request.POST.get("action")
        try:
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
        except services.CaseError as error:
            messages.error(request, str(error))
            return redirect("cases_admin_case", pk=case.pk)
    due, progress = services.case_progress(case)
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
        },
    )


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
