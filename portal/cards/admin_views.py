"""Officers work card applications in the Wagtail admin: the list of their offices'
applications, one application (approve or ask for a correction), and the batch actions
(create a production batch from approved applications, mark a batch ready, record
collection). Every query goes through portal.scoping: another office's application or batch is
a 404, and every status change is a transition with its history row."""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal import scoping
from portal.workflow import TransitionError
from portal.workflow.history import STAFF_AUDIENCE, timeline

from . import services, statuses
from .forms import CorrectionForm
from .models import ApplicationState, CardApplication, ProductionBatch
from .views import serve_photo

S = ApplicationState
PAGE_SIZE = 50
_ID = re.compile(r"^[0-9]{1,18}$")
STATE_FILTERS = ("open", "to_check", *S.values)


def _int(value):
    return int(value) if isinstance(value, str) and _ID.match(value) else None


def _require(request, action=scoping.VIEW):
    if not scoping.has_permission(request.user, CardApplication, action):
        raise PermissionDenied


def _offices(request):
    units = scoping.units(request.user, CardApplication)
    if units is None:
        return list(services.collection_points())
    return list(units.filter(is_active=True).order_by("kind", "code"))


def application_list(request):
    """GET: the applications of the officer's offices, filtered by status, with the approved
    ones selectable for a production batch."""
    _require(request)
    offices = _offices(request)
    office = None
    office_id = _int(request.GET.get("office"))
    if office_id is not None:
        office = next((o for o in offices if o.pk == office_id), None)
        if office is None:
            raise Http404
    elif len(offices) == 1:
        office = offices[0]
    state = request.GET.get("status", "to_check")
    if state not in STATE_FILTERS:
        state = "to_check"
    rows = services.office_applications(request.user).select_related("collection_point")
    if office is not None:
        rows = rows.filter(collection_point=office)
    if state == "open":
        rows = rows.filter(
            state__in=[s for s in S.values if s not in (S.COLLECTED, S.WITHDRAWN, S.DRAFT)]
        )
    elif state == "to_check":
        rows = rows.filter(state__in=(S.SUBMITTED, S.RESUBMITTED))
    else:
        rows = rows.filter(state=state)
    rows = rows.exclude(state=S.DRAFT).order_by("submitted_at", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    batches = scoping.visible(request.user, ProductionBatch).select_related("office")
    if office is not None:
        batches = batches.filter(office=office)
    return TemplateResponse(
        request,
        "cards/staff/list.html",
        {
            "offices": offices,
            "office": office,
            "state": state,
            "states": [(s, label) for s, label in S.choices if s != S.DRAFT],
            "page": page,
            "query": query.urlencode(),
            "batches": list(batches[:20]),
            "can_act": scoping.has_permission(request.user, CardApplication, scoping.ACT),
        },
    )


def _application(request, pk, action=scoping.VIEW):
    application = (
        scoping.visible(request.user, CardApplication, action)
        .select_related("collection_point", "applicant__profile", "street", "batch")
        .filter(pk=_int(str(pk)))
        .exclude(state=S.DRAFT)
        .first()
    )
    if application is None:
        raise Http404
    return application


def application_detail(request, pk):
    """One application: the photo and data, its history, and the officer's actions."""
    _require(request)
    if request.method == "POST":
        _require(request, scoping.ACT)
        application = _application(request, pk, scoping.ACT)
    else:
        application = _application(request, pk)
    form = CorrectionForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.approve(application, by=request.user)
                messages.success(request, _("The photo and data are approved."))
                return redirect("cards_admin_application", pk=application.pk)
            if action == "correction":
                form = CorrectionForm(request.POST)
                if form.is_valid():
                    services.request_correction(
                        application, form.cleaned_data["reason"], by=request.user
                    )
                    messages.success(request, _("The resident is asked to correct it."))
                    return redirect("cards_admin_application", pk=application.pk)
            elif action == "block":
                card = getattr(application, "card", None)
                form = CorrectionForm(request.POST)
                if card is None:
                    raise Http404
                if form.is_valid():
                    services.block_card(card, form.cleaned_data["reason"], by=request.user)
                    messages.success(request, _("The card is blocked."))
                    return redirect("cards_admin_application", pk=application.pk)
            elif action == "collect":
                services.record_collection(application, by=request.user)
                messages.success(request, _("The collection is recorded and the card is valid."))
                return redirect("cards_admin_application", pk=application.pk)
            else:
                messages.error(request, _("Choose an action."))
        except TransitionError as error:
            messages.error(request, str(error))
            return redirect("cards_admin_application", pk=application.pk)
    card = getattr(application, "card", None) if application.state == S.COLLECTED else None
    return TemplateResponse(
        request,
        "cards/staff/application.html",
        {
            "application": application,
            "history": timeline(application, audience=STAFF_AUDIENCE),
            "card_history": timeline(card, audience=STAFF_AUDIENCE) if card else [],
            "form": form,
            "tone": statuses.tone(application.state),
            "can_act": scoping.has_permission(request.user, CardApplication, scoping.ACT),
            "card": getattr(application, "card", None)
            if application.state == S.COLLECTED
            else None,
        },
    )


def application_photo(request, pk):
    _require(request)
    return serve_photo(_application(request, pk))


@require_POST
def create_batch(request):
    """POST: the chosen approved applications of one office become a production batch."""
    _require(request, scoping.ACT)
    offices = _offices(request)
    office = next((o for o in offices if o.pk == _int(request.POST.get("office"))), None)
    if office is None:
        raise Http404
    ids = [i for i in (_int(v) for v in request.POST.getlist("application")) if i is not None]
    chosen = list(
        scoping.visible(request.user, CardApplication, scoping.ACT).filter(
            pk__in=ids, collection_point=office
        )
    )
    if len(chosen) != len(set(ids)):
        messages.error(request, _("Some of the chosen applications are not of this office."))
        return redirect(f"{_list_url()}?office={office.pk}&status=approved")
    try:
        batch = services.create_batch(office, chosen, by=request.user)
    except (services.CardError, TransitionError) as error:
        messages.error(request, str(error))
        return redirect(f"{_list_url()}?office={office.pk}&status=approved")
    messages.success(
        request,
        ngettext(
            "Batch %(batch)s created with %(count)s application.",
            "Batch %(batch)s created with %(count)s applications.",
            len(chosen),
        )
        % {"batch": batch.reference, "count": len(chosen)},
    )
    return redirect("cards_admin_batch", pk=batch.pk)


def _list_url():
    from django.urls import reverse

    return reverse("cards_admin_list")


def _batch(request, pk, action=scoping.VIEW):
    batch = (
        scoping.visible(request.user, ProductionBatch, action)
        .select_related("office", "created_by")
        .filter(pk=_int(str(pk)))
        .first()
    )
    if batch is None:
        raise Http404
    return batch


def batch_detail(request, pk):
    """A production batch: its applications; mark it ready; record collections."""
    _require(request)
    batch = _batch(request, pk)
    if request.method == "POST":
        if not scoping.has_permission(request.user, ProductionBatch, scoping.ACT):
            raise PermissionDenied
        batch = _batch(request, pk, scoping.ACT)
        action = request.POST.get("action")
        try:
            if action == "ready":
                services.mark_batch_ready(batch, by=request.user)
                messages.success(
                    request, _("The batch is ready; the residents are told where to collect.")
                )
            elif action == "collect":
                ids = {i for i in (_int(v) for v in request.POST.getlist("application")) if i}
                rows = list(
                    scoping.visible(request.user, CardApplication, scoping.ACT).filter(
                        batch=batch, pk__in=ids
                    )
                )
                if not rows:
                    messages.error(request, _("Choose the cards that were collected."))
                else:
                    with transaction.atomic():
                        for application in rows:
                            services.record_collection(application, by=request.user)
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s collection recorded.",
                            "%(count)s collections recorded.",
                            len(rows),
                        )
                        % {"count": len(rows)},
                    )
            else:
                messages.error(request, _("Choose an action."))
        except (services.CardError, TransitionError) as error:
            messages.error(request, str(error))
        return redirect("cards_admin_batch", pk=batch.pk)
    applications = list(
        batch.applications.select_related("applicant__profile").order_by("full_name", "pk")
    )
    return TemplateResponse(
        request,
        "cards/staff/batch.html",
        {
            "batch": batch,
            "applications": applications,
            "can_act": scoping.has_permission(request.user, ProductionBatch, scoping.ACT),
        },
    )
