"""The resident's side of SMART App Launch: the consent screen (django-oauth-toolkit's
authorisation view with our page and rules), the connected-apps page with revoke, and
the discovery document."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin

from health.fhir.responses import base_url

from . import discovery, services
from .scopes import plain_words


@require_GET
def smart_configuration(request):
    """`[base]/.well-known/smart-configuration`: public, as SMART requires."""
    response = JsonResponse(discovery.configuration(base_url(request)))
    response["Access-Control-Allow-Origin"] = "*"
    return response


class ConsentView(AuthorizationView):
    """GET shows what the app asks for in plain words, in the resident's language; the
    resident approves or declines (POST). Consent is asked every time
    (REQUEST_APPROVAL_PROMPT 'force'). Without a linked record there is nothing to share:
    the page says so and offers only to go back to the app."""

    template_name = "smart/consent.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = kwargs.get("application")
        scopes = kwargs.get("scopes") or []
        context["app_name"] = application.name if application else ""
        smart = getattr(application, "smart", None) if application else None
        context["app_description"] = smart.description if smart else ""
        context["sees"] = plain_words(scopes)
        context["has_record"] = services.patient_for(self.request.user) is not None
        return context

    def error_response(self, error, application, **kwargs):
        send_back, response = OAuthLibMixin.error_response(self, error, **kwargs)
        if send_back:
            return self.redirect(response["url"], application)
        # A client id or redirect URI that cannot be trusted: never redirect, say so here.
        return render(
            self.request,
            "smart/consent_error.html",
            {"error": response["error"]},
            status=response["error"].status_code,
        )

    def form_invalid(self, form):
        return render(self.request, "smart/consent_error.html", {"error": None}, status=400)

    def form_valid(self, form):
        if not form.cleaned_data.get("allow"):
            return super().form_valid(form)
        application = (
            get_application_model().objects.filter(client_id=form.cleaned_data["client_id"]).first()
        )
        patient_id = services.patient_for(self.request.user)
        if application is None or patient_id is None:
            return render(self.request, "smart/consent_error.html", {"error": None}, status=400)
        with transaction.atomic():
            services.connect(self.request.user, application, patient_id, form.cleaned_data["scope"])
            self.success_url = None
            response = super().form_valid(form)
            if not self.success_url:
                # The request was refused after all (scopes, PKCE, redirect URI): no consent
                # is recorded for it.
                transaction.set_rollback(True)
        return response


@login_required
def apps(request):
    """The resident's connected apps: what each sees, when it was last used, disconnect."""
    rows = list(services.connections(request.user))
    for connection in rows:
        connection.sees = plain_words(connection.scopes.split())
    return render(request, "smart/apps.html", {"connections": rows})


@login_required
@require_POST
def disconnect(request, connection_id):
    if services.disconnect(request.user, connection_id):
        messages.success(
            request, _("The app is disconnected. It can no longer see your health record.")
        )
    else:
        messages.info(request, _("This app was already disconnected."))
    return redirect("smart:apps")
