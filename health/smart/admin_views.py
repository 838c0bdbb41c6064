"""Residents' health apps in the Wagtail admin: superusers register apps (redirect URIs,
allowed scopes), change them and remove them. A confidential app's secret is shown once,
in the answer to the form (only its hash is stored)."""

import logging

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from health.fhir.admin_views import superuser_required

from .admin_forms import SmartAppForm
from .models import SmartApp

logger = logging.getLogger(__name__)


def _app_list(request, new_secret=None):
    apps = (
        SmartApp.objects.select_related("application")
        .annotate(
            connected=Count("application__smart_connections"),
            last_used=Max("application__smart_connections__last_used_at"),
        )
        .order_by("application__name", "pk")
    )
    return TemplateResponse(
        request, "smart/admin/apps.html", {"apps": apps, "new_secret": new_secret}
    )


@superuser_required
def app_list(request):
    return _app_list(request)


@superuser_required
def app_register(request):
    form = SmartAppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        Application = get_application_model()
        secret = generate_client_secret() if data["client_type"] == "confidential" else ""
        with transaction.atomic():
            application = Application.objects.create(
                name=data["name"],
                client_type=data["client_type"],
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=data["redirect_uris"],
                client_secret=secret,
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=False,
                user=request.user,
            )
            SmartApp.objects.create(
                application=application,
                allowed_scopes=data["allowed_scopes"],
                description=data["description"],
            )
        logger.info("SMART app %s registered by user %s", application.client_id, request.user.pk)
        messages.success(request, _("%(name)s is registered.") % {"name": application.name})
        if secret:
            return _app_list(
                request,
                new_secret={
                    "name": application.name,
                    "client_id": application.client_id,
                    "secret": secret,
                },
            )
        return redirect("smart_admin:apps")
    return TemplateResponse(
        request, "smart/admin/app_form.html", {"form": form, "title": _("Register an app")}
    )


@superuser_required
def app_edit(request, pk):
    smart = get_object_or_404(SmartApp.objects.select_related("application"), pk=pk)
    application = smart.application
    initial = {
        "name": application.name,
        "description": smart.description,
        "redirect_uris": "\n".join(application.redirect_uris.split()),
        "allowed_scopes": smart.allowed_scopes,
    }
    form = SmartAppForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            application.name = data["name"]
            application.redirect_uris = data["redirect_uris"]
            application.save(update_fields=["name", "redirect_uris"])
            smart.allowed_scopes = data["allowed_scopes"]
            smart.description = data["description"]
            smart.save(update_fields=["allowed_scopes", "description"])
        messages.success(request, _("%(name)s is saved.") % {"name": application.name})
        return redirect("smart_admin:apps")
    return TemplateResponse(
        request,
        "smart/admin/app_form.html",
        {"form": form, "title": _("Change %(name)s") % {"name": application.name}, "app": smart},
    )


@superuser_required
def app_delete(request, pk):
    smart = get_object_or_404(SmartApp.objects.select_related("application"), pk=pk)
    if request.method == "POST":
        name = smart.application.name
        # Its tokens, grants and residents' connections go with it: access ends at once.
        smart.application.delete()
        logger.info("SMART app %s removed by user %s", pk, request.user.pk)
        messages.success(
            request, _("%(name)s is removed and can no longer reach any record.") % {"name": name}
        )
        return redirect("smart_admin:apps")
    return TemplateResponse(request, "smart/admin/app_delete.html", {"app": smart})
