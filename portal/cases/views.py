"""The resident's side of service cases: the catalogue, applying, and following a case."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.workflow import TransitionError

from . import services
from .forms import ApplicationForm, MessageForm, WithdrawForm, answer_rows
from .models import CaseState, FormField, Office, Service


def catalogue(request):
    """Every offered service, by owning office."""
    offices = (
        Office.objects.filter(is_active=True, services__is_active=True)
        .distinct()
        .prefetch_related(
            Prefetch(
                "services",
                queryset=Service.objects.filter(
                    is_active=True, kind=Service.Kind.APPLICATION
                ).order_by("sort_order", "code"),
                to_attr="offered",
            )
        )
    )
    return render(
        request,
        "cases/catalogue.html",
        {"offices": [office for office in offices if office.offered]},
    )


def on_time(request):
    """Public: per service and month, the share of cases decided by their due date."""
    months, table = services.on_time_by_month()
    return render(request, "cases/on_time.html", {"months": months, "table": table})


def _offered_service(code):
    service = (
        Service.objects.select_related("office")
        .filter(code=code, is_active=True, office__is_active=True)
        .first()
    )
    if service is None:
        raise Http404
    return service


def service_detail(request, code):
    service = _offered_service(code)
    fields = list(service.form_fields.all())
    return render(
        request,
        "cases/service.html",
        {
            "service": service,
            "documents": [f for f in fields if f.field_type == FormField.Type.DOCUMENT],
        },
    )


# Applying ---------------------------------------------------------------------------------------


def _draft(request, pk):
    case = services.case_for_applicant(request.user, pk)
    if case is None:
        raise Http404
    if case.state != CaseState.DRAFT:
        return None, redirect(case.get_absolute_url())
    return case, None


def _render_form(request, service, form, case=None, documents=None):
    return render(
        request,
        "cases/apply.html",
        {"service": service, "form": form, "case": case, "documents": documents or {}},
    )


def _handle_form(request, service, case):
    """POST of the application form: save as a draft, then go on or stay."""
    specs = list(service.form_fields.all())
    documents = services.documents_by_field(case) if case else {}
    form = ApplicationForm(
        request.POST, request.FILES, specs=specs, documents_on_file=documents.keys()
    )
    # "Save and come back later" keeps whatever is valid; "Continue" needs the whole form.
    saving = request.POST.get("action") == "save"
    if not form.is_valid() and not saving:
        return _render_form(request, service, form, case, documents)
    if saving and not form.is_valid():
        keep = {key: value for key, value in form.cleaned_data.items() if key not in form.errors}
        form.cleaned_data = keep
    try:
        if case is None:
            case = services.start_draft(request.user, service)
        services.save_draft(case, form.answers(), form.uploads(), by=request.user)
    except services.CaseError as error:
        form.add_error(None, str(error))
        return _render_form(request, service, form, case, documents)
    if saving:
        if form.errors:
            messages.warning(
                request,
                _("Your draft is saved, without the answers that need correcting."),
            )
            return _render_form(request, service, form, case, services.documents_by_field(case))
        messages.success(
            request,
            _("Your draft is saved. You can continue it from My page at any time."),
        )
        return redirect("cases:edit", pk=case.pk)
    return redirect("cases:check", pk=case.pk)


@login_required
@never_cache
def apply(request, code):
    service = _offered_service(code)
    if not service.online or service.kind != Service.Kind.APPLICATION:
        messages.info(request, _("This service cannot be applied for online."))
        return redirect(service.get_absolute_url())
    draft = services.open_draft(request.user, service)
    if draft is not None:
        return redirect("cases:edit", pk=draft.pk)
    if request.method == "POST":
        return _handle_form(request, service, None)
    form = ApplicationForm(specs=service.form_fields.all())
    return _render_form(request, service, form)


@login_required
@never_cache
def edit_draft(request, pk):
    case, response = _draft(request, pk)
    if response:
        return response
    service = case.service
    if request.method == "POST":
        return _handle_form(request, service, case)
    documents = services.documents_by_field(case)
    initial = dict(case.answers)
    form = ApplicationForm(
        initial=initial, specs=service.form_fields.all(), documents_on_file=documents.keys()
    )
    return _render_form(request, service, form, case, documents)


@login_required
@never_cache
def check_answers(request, pk):
    case, response = _draft(request, pk)
    if response:
        return response
    specs = list(case.service.form_fields.all())
    documents = services.documents_by_field(case)
    return render(
        request,
        "cases/check.html",
        {
            "case": case,
            "service": case.service,
            "rows": answer_rows(specs, case.answers, documents),
            "missing": services.missing_answers(case, specs),
        },
    )


@login_required
@require_POST
def submit_case(request, pk):
    case, response = _draft(request, pk)
    if response:
        return response
    try:
        services.submit(case, by=request.user)
    except services.CaseError as error:
        messages.error(request, str(error))
        return redirect("cases:check", pk=case.pk)
    return redirect("cases:confirmation", pk=case.pk)


@login_required
@never_cache
def confirmation(request, pk):
    case = services.case_for_applicant(request.user, pk)
    if case is None or case.state == CaseState.DRAFT:
        raise Http404
    due = services.due_date_for(case)
    return render(
        request,
        "cases/confirmation.html",
        {"case": case, "due": due, "estimate": services.is_estimate(case)},
    )


@login_required
@require_POST
def delete_draft(request, pk):
    case, response = _draft(request, pk)
    if response:
        return response
    for document in case.documents.all():
        document.file.delete(save=False)
    case.delete()
    messages.success(request, _("The draft is deleted."))
    return redirect("cases:my_cases")


# Following a case ------------------------------------------------------------------------------


@login_required
@never_cache
def my_cases(request):
    cases = (
        services.cases_of(request.user)
        .select_related("service", "office")
        .order_by("-created_at")[:200]
    )
    return render(request, "cases/my_cases.html", {"cases": cases})


@login_required
@never_cache
def case_detail(request, pk):
    case = services.case_for_applicant(request.user, pk)
    if case is None:
        raise Http404
    if case.state == CaseState.DRAFT:
        return redirect("cases:edit", pk=case.pk)
    due, progress = services.case_progress(case)
    specs = list(case.service.form_fields.all())
    documents = list(case.documents.all())
    return render(
        request,
        "cases/case.html",
        {
            "case": case,
            "service": case.service,
            "due": due,
            "progress": progress,
            "estimate": services.is_estimate(case),
            "rows": answer_rows(specs, case.answers, services.documents_by_field(case)),
            "documents": documents,
            "decision_documents": services.decision_documents(documents),
            "case_messages": list(case.messages.select_related("author")),
            "message_form": MessageForm(),
            "withdraw_form": WithdrawForm(),
            "can_withdraw": services.can_withdraw(case),
            "correction_requested": case.state == CaseState.CORRECTION_REQUESTED,
            "correction": services.open_correction(case),
            "status": services.status_wording(case),
            "history": services.history(case),
        },
    )


@login_required
@require_POST
def withdraw(request, pk):
    """The resident withdraws the case before the decision (after confirming)."""
    case = services.case_for_applicant(request.user, pk)
    if case is None or case.state == CaseState.DRAFT:
        raise Http404
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that you want to withdraw."))
        return redirect(f"{case.get_absolute_url()}#withdraw")
    try:
        services.withdraw(case, by=request.user)
    except TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your application is withdrawn."))
    return redirect(case.get_absolute_url())


@login_required
@never_cache
def correct(request, pk):
    """The office asked for a correction: change answers, add documents, send it back."""
    case = services.case_for_applicant(request.user, pk)
    if case is None or case.state == CaseState.DRAFT:
        raise Http404
    if case.state != CaseState.CORRECTION_REQUESTED:
        messages.info(request, _("The office has not asked for a correction to this case."))
        return redirect(case.get_absolute_url())
    specs = list(case.service.form_fields.all())
    documents = services.documents_by_field(case)
    if request.method == "POST":
        form = ApplicationForm(
            request.POST, request.FILES, specs=specs, documents_on_file=documents.keys()
        )
        if form.is_valid():
            try:
                services.resubmit(case, form.answers(), form.uploads(), by=request.user)
            except (services.CaseError, TransitionError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, _("Your correction is sent. The office's clock runs again.")
                )
                return redirect(case.get_absolute_url())
    else:
        form = ApplicationForm(
            initial=dict(case.answers), specs=specs, documents_on_file=documents.keys()
        )
    return render(
        request,
        "cases/correct.html",
        {
            "case": case,
            "service": case.service,
            "form": form,
            "documents": documents,
            "correction": services.open_correction(case),
        },
    )


@login_required
@require_POST
def send_message(request, pk):
    case = services.case_for_applicant(request.user, pk)
    if case is None or case.state == CaseState.DRAFT:
        raise Http404
    form = MessageForm(request.POST)
    if form.is_valid():
        services.post_message(case, form.cleaned_data["body"], by=request.user, from_office=False)
        messages.success(request, _("Your message is sent to the office."))
    else:
        for error in form.errors.get("body", []):
            messages.error(request, error)
    return redirect(f"{case.get_absolute_url()}#messages")


@login_required
def download_document(request, pk, document_pk):
    document = services.document_for(request.user, pk, document_pk)
    if document is None:
        raise Http404
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=False,
        filename=document.filename,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
