from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import ProfileForm

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _safe_next(request, fallback="/"):
    candidate = request.POST.get("next") or request.headers.get("referer") or fallback
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
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
    response = redirect(_safe_next(request))
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
