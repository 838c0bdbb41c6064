from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.security import local_path

from .forms import ProfileForm

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _safe_next(request, fallback="/"):
    """Where to go back to: `next`, else the Referer, as a path on this site; else `fallback`."""
    for candidate in (request.POST.get("next", ""), request.headers.get("referer", "")):
        path = local_path(request, candidate)
        if path:
            return path
    return fallback


def set_language_cookie(response, language):
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
        httponly=False,
    )


@require_POST
def set_language(request):
    """Switch the interface language; a signed-in resident's choice is remembered in the profile."""
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request))
    if language not in LANGUAGE_CODES:
        messages.error(request, _("That language is not available. Choose one from the list."))
        return response
    translation.activate(language)
    set_language_cookie(response, language)
    if request.user.is_authenticated:
        profile = request.user.profile
        if profile.preferred_language != language:
            profile.preferred_language = language
            profile.save(update_fields=["preferred_language", "updated_at"])
    return response


@login_required
def profile_edit(request):
    profile = request.user.profile
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profile = form.save()
        translation.activate(profile.preferred_language)
        messages.success(request, _("Your profile has been saved."))
        response = redirect("mypage:index")
        set_language_cookie(response, profile.preferred_language)
        return response
    return render(request, "accounts/profile_form.html", {"form": form})


@login_required
def account_settings(request):
    """One page that gathers the account's security settings, each with what it is for."""
    user = request.user
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from .middleware import has_mfa

    emails = list(EmailAddress.objects.filter(user=user).order_by("-primary", "email"))
    context = {
        "mfa_enabled": has_mfa(user),
        "recovery_codes": Authenticator.objects.filter(
            user=user, type=Authenticator.Type.RECOVERY_CODES
        ).exists(),
        "primary_email": next((e.email for e in emails if e.primary), user.email),
        "email_count": len(emails),
        "has_password": user.has_usable_password(),
    }
    return render(request, "accounts/settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def data_export(request):
    """Download all my data: ask for an archive, watch it being built, download it."""
    from . import services

    if request.method == "POST":
        export, created = services.request_export(request.user)
        if created:
            messages.success(
                request, _("We are preparing your data. We will tell you when it is ready.")
            )
        else:
            messages.info(request, _("Your data is already being prepared."))
        return redirect("account_data_export")
    export = services.current_export(request.user)
    response = render(
        request,
        "accounts/data_export.html",
        {"export": export, "hours": services.export_hours()},
    )
    add_never_cache_headers(response)
    return response


def _own_export(request, export_id):
    from .models import DataExport

    return get_object_or_404(DataExport, pk=export_id, user=request.user)


@login_required
def data_export_status(request, export_id):
    """Progress for the page's script: JSON, never cached."""
    export = _own_export(request, export_id)
    response = JsonResponse(
        {
            "status": export.status,
            "status_label": str(export.get_status_display()),
            "parts_done": export.parts_done,
            "parts_total": export.parts_total,
            "percent": export.percent,
        }
    )
    add_never_cache_headers(response)
    return response


@login_required
def data_export_download(request, export_id):
    """The archive, to its owner only, while it lasts."""
    from . import services
    from .models import DataExport

    export = _own_export(request, export_id)
    path = services.export_file(export)
    if (
        export.status != DataExport.Status.READY
        or export.expires_at is None
        or export.expires_at <= timezone.now()
        or path is None
        or not path.exists()
    ):
        raise Http404
    stamp = timezone.localtime(export.finished_at).strftime("%Y-%m-%d")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"district-portal-my-data-{stamp}.zip",
        content_type="application/zip",
    )
    add_never_cache_headers(response)
    return response


CLOSE_CONFIRMED_KEY = "close_account_confirmed_at"
CLOSE_CONFIRM_SECONDS = 10 * 60


@login_required
@require_http_methods(["GET", "POST"])
def close_account(request):
    """Step 1 of closing the account: the password again (and the authenticator code)."""
    from .forms import CloseAccountForm
    from .roles import is_staff_member

    if is_staff_member(request.user):
        return render(request, "accounts/close_staff.html")
    form = CloseAccountForm(request.POST or None, user=request.user, request=request)
    if request.method == "POST" and form.is_valid():
        request.session[CLOSE_CONFIRMED_KEY] = timezone.now().timestamp()
        return redirect("account_close_confirm")
    return render(request, "accounts/close.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def close_account_confirm(request):
    """Step 2: what happens, said plainly, then the button that closes the account."""
    from . import services
    from .closure import what_happens

    confirmed_at = request.session.get(CLOSE_CONFIRMED_KEY)
    if not confirmed_at or timezone.now().timestamp() - confirmed_at > CLOSE_CONFIRM_SECONDS:
        messages.info(request, _("Please enter your password again to close your account."))
        return redirect("account_close")
    if request.method == "POST":
        try:
            services.close_account(request.user)
        except services.ClosureRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("account_settings")
        language = translation.get_language()
        logout(request)
        response = redirect("account_closed")
        set_language_cookie(response, language)
        return response
    return render(
        request, "accounts/close_confirm.html", {"what_happens": what_happens(request.user)}
    )


def account_closed(request):
    return render(request, "accounts/closed.html")
