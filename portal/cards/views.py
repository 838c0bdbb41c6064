"""The resident's side of the social security card: apply, check the answers, send, follow
the status, correct what the office asks, withdraw, and report a lost card.

Every view finds the application among the signed-in resident's own: another resident's id
is a 404, the same as an id that does not exist."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.workflow import TransitionError
from portal.workflow.history import timeline

from . import services, statuses
from .forms import ApplicationForm
from .models import BEFORE_PRODUCTION_STATES, ApplicationState, CardState

S = ApplicationState


def _application(request, pk):
    application = services.application_for(request.user, pk)
    if application is None:
        raise Http404
    return application


@login_required
@never_cache
def index(request):
    """The resident's card: the open application, the cards held, earlier applications."""
    applications = list(
        services.applications_of(request.user).select_related("collection_point")[:20]
    )
    open_application = next((a for a in applications if a.is_open), None)
    cards = list(request.user.cards.select_related("application").order_by("-issued_at"))
    return render(
        request,
        "cards/index.html",
        {
            "open_application": open_application,
            "applications": [a for a in applications if a is not open_application],
            "cards": cards,
            "next_step": statuses.next_step(open_application) if open_application else "",
            "open_tone": statuses.tone(open_application.state) if open_application else "",
        },
    )


def _render_form(request, form, application=None, *, correcting=False):
    return render(
        request,
        "cards/apply.html",
        {"form": form, "application": application, "correcting": correcting},
    )


@login_required
@never_cache
def apply(request):
    current = services.open_application(request.user)
    if current is not None:
        if current.state == S.DRAFT:
            return redirect("cards:edit", pk=current.pk)
        messages.info(request, str(services.ALREADY_OPEN))
        return redirect(current.get_absolute_url())
    if request.method == "POST":
        form = ApplicationForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                application = services.start(
                    request.user, form.data_for_application(), form.photo_upload()
                )
            except (services.CardError, TransitionError) as error:
                form.add_error(None, str(error))
            else:
                return redirect("cards:check", pk=application.pk)
        return _render_form(request, form)
    return _render_form(request, ApplicationForm(initial=services.prefill(request.user)))


def _initial(application):
    return {name: getattr(application, name) for name in services.APPLICATION_FIELDS}


@login_required
@never_cache
def edit(request, pk):
    application = _application(request, pk)
    if application.state != S.DRAFT:
        return redirect(application.get_absolute_url())
    if request.method == "POST":
        form = ApplicationForm(request.POST, request.FILES, photo_on_file=bool(application.photo))
        if form.is_valid():
            try:
                services.update_draft(application, form.data_for_application(), form.photo_upload())
            except services.CardError as error:
                form.add_error(None, str(error))
            else:
                return redirect("cards:check", pk=application.pk)
        return _render_form(request, form, application)
    form = ApplicationForm(initial=_initial(application), photo_on_file=bool(application.photo))
    return _render_form(request, form, application)


@login_required
@never_cache
def check(request, pk):
    application = _application(request, pk)
    if application.state != S.DRAFT:
        return redirect(application.get_absolute_url())
    return render(request, "cards/check.html", {"application": application})


@login_required
@require_POST
def submit(request, pk):
    application = _application(request, pk)
    try:
        services.submit(application, by=request.user)
    except (services.CardError, TransitionError) as error:
        messages.error(request, str(error))
        if application.state == S.DRAFT:
            return redirect("cards:check", pk=application.pk)
        return redirect(application.get_absolute_url())
    return redirect("cards:confirmation", pk=application.pk)


@login_required
@never_cache
def confirmation(request, pk):
    application = _application(request, pk)
    if application.state == S.DRAFT:
        return redirect("cards:check", pk=application.pk)
    return render(request, "cards/confirmation.html", {"application": application})


@login_required
@never_cache
def application_detail(request, pk):
    application = _application(request, pk)
    if application.state == S.DRAFT:
        return redirect("cards:check", pk=application.pk)
    card = getattr(application, "card", None) if application.state == S.COLLECTED else None
    return render(
        request,
        "cards/application.html",
        {
            "application": application,
            "card": card,
            "tone": statuses.tone(application.state),
            "next_step": statuses.next_step(application),
            "history": timeline(application),
            "can_withdraw": application.state in BEFORE_PRODUCTION_STATES,
        },
    )


@login_required
@never_cache
def correct(request, pk):
    application = _application(request, pk)
    if application.state != S.CORRECTION:
        return redirect(application.get_absolute_url())
    if request.method == "POST":
        form = ApplicationForm(request.POST, request.FILES, photo_on_file=True)
        if form.is_valid():
            try:
                services.resubmit(
                    application, form.data_for_application(), form.photo_upload(), by=request.user
                )
            except (services.CardError, TransitionError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Your corrected application is sent."))
                return redirect(application.get_absolute_url())
        return _render_form(request, form, application, correcting=True)
    form = ApplicationForm(initial=_initial(application), photo_on_file=True)
    return _render_form(request, form, application, correcting=True)


@login_required
@require_POST
def withdraw(request, pk):
    application = _application(request, pk)
    try:
        services.withdraw(application, by=request.user)
    except TransitionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your application is withdrawn."))
    return redirect("cards:index")


@login_required
def photo(request, pk):
    application = _application(request, pk)
    return serve_photo(application)


def serve_photo(application):
    """The application's photo, never cached, never sniffed as anything but the stored type."""
    if not application.photo:
        raise Http404
    try:
        handle = application.photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=application.photo_type or "image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@never_cache
def report_lost(request, pk):
    card = services.card_for(request.user, pk)
    if card is None:
        raise Http404
    if card.state != CardState.ACTIVE:
        messages.info(request, _("This card is already blocked."))
        return redirect("cards:index")
    if request.method == "POST":
        try:
            replacement = services.report_lost(card, by=request.user)
        except TransitionError as error:
            messages.error(request, str(error))
            return redirect("cards:index")
        messages.success(
            request,
            _("Your card is blocked. Nobody can use it any more."),
        )
        if replacement is None:
            return redirect("cards:index")
        messages.info(
            request,
            _("We started a replacement application with your details. Check it and send it."),
        )
        return redirect("cards:check", pk=replacement.pk)
    return render(request, "cards/report_lost.html", {"card": card})
