from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import ProfileForm

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _safe_next(request, fallback="/"):
    """Where to go back to: `next`, else the Referer, as a path on this site; else `fallback`.

    Only a path survives (an absolute URL of this host is cut to its path): "foo" or a name
    would otherwise be taken for a URL pattern name by redirect() and end in a 500.
    """
    for candidate in (request.POST.get("next", ""), request.headers.get("referer", "")):
        if not candidate or not candidate.isprintable():
            continue
        if not url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            continue
        parts = urlsplit(candidate)
        if parts.path.startswith("/") and not parts.path.startswith("//"):
            return urlunsplit(("", "", parts.path, parts.query, ""))
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
