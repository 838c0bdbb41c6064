"""FHIR API tokens in the Wagtail admin: superusers issue, list and revoke the tokens other
systems call /fhir/ with. The token text is shown once, in the answer to the form that issued
it (only its hash is stored, anywhere); revoking stops it at once."""

import logging
import secrets
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import issue_token, revoke_token
from .admin_forms import ApiTokenForm
from .models import ApiToken

logger = logging.getLogger(__name__)


def superuser_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def token_status(token, now):
    if token.revoked_at:
        return "revoked", _("Revoked")
    if token.expires_at and token.expires_at <= now:
        return "expired", _("Expired")
    return "active", _("Active")


def _token_list(request, new_token=None):
    now = timezone.now()
    tokens = ApiToken.objects.select_related("created_by").order_by("-created_at", "-pk")
    page = Paginator(tokens, 50).get_page(request.GET.get("page"))
    for token in page:
        token.status, token.status_label = token_status(token, now)
    return TemplateResponse(
        request, "fhir/admin/tokens.html", {"page": page, "new_token": new_token}
    )


@superuser_required
def token_list(request):
    return _token_list(request)


# Forms already answered with a token, by the one-time value each form carries: a reload or a
# double click re-sends the form, and must not issue a second token nobody knows about.
USED_FORMS_SESSION_KEY = "fhir_token_forms_used"


@superuser_required
def token_issue(request):
    form = ApiTokenForm(request.POST or None)
    used = request.session.get(USED_FORMS_SESSION_KEY, [])
    if request.method == "POST" and request.POST.get("form_id") in used:
        messages.warning(
            request,
            _(
                "This form was already sent, and its token was shown once then. If it was "
                "not copied, revoke it and issue a new one."
            ),
        )
        return redirect("fhir_admin:tokens")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        days = data["expires_in_days"]
        token, text = issue_token(
            data["name"],
            data["scopes"],
            patient_id=data["patient_id"],
            created_by=request.user,
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        logger.info("FHIR API token %s issued by user %s", token.key_id, request.user.pk)
        if request.POST.get("form_id"):
            request.session[USED_FORMS_SESSION_KEY] = [*used, request.POST["form_id"]][-20:]
        # Shown in this response only (Wagtail's admin pages are never cached): kept nowhere,
        # not even in the session, since only its hash may be stored.
        return _token_list(request, new_token={"name": token.name, "text": text})
    form_id = request.POST.get("form_id") or secrets.token_urlsafe(16)
    return TemplateResponse(
        request, "fhir/admin/token_form.html", {"form": form, "form_id": form_id[:64]}
    )


@superuser_required
def token_revoke(request, key_id):
    token = get_object_or_404(ApiToken, key_id=key_id)
    if request.method == "POST":
        if revoke_token(token.key_id):
            logger.info("FHIR API token %s revoked by user %s", token.key_id, request.user.pk)
            messages.success(
                request, _("The token for %(name)s no longer works.") % {"name": token.name}
            )
        else:
            messages.info(request, _("This token was already revoked."))
        return redirect("fhir_admin:tokens")
    return TemplateResponse(request, "fhir/admin/token_revoke.html", {"token": token})
