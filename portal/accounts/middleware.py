from django.conf import settings
from django.contrib import messages
from django.contrib.auth import middleware as auth_middleware
from django.shortcuts import redirect
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from allauth.mfa.models import Authenticator

from .backends import offering
from .roles import is_staff_member

# Staff without MFA may still reach these, so they can set it up or leave.
MFA_SETUP_PREFIXES = (
    "/accounts/2fa/",
    "/accounts/logout/",
    "/accounts/reauthenticate/",
    "/accounts/confirm-email/",
    "/language/",
    settings.STATIC_URL,
)


def get_user(request):
    """The request's user, as Django's middleware gets it, offered the user that the session
    store read with the session (portal/accounts/session_store.py) so it is not read again."""
    with offering(getattr(request.session, "signed_in_user", None)):
        return auth_middleware.get_user(request)


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with the user read together with the session (see get_user above)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))


class PreferredLanguageMiddleware:
    """Use the signed-in resident's preferred language unless they picked one in this browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            profile = getattr(user, "profile", None)
            if profile is not None and profile.preferred_language:
                translation.activate(profile.preferred_language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def has_mfa(user):
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class StaffMFAMiddleware:
    """Staff accounts must turn on TOTP before they can use anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(MFA_SETUP_PREFIXES)
            and is_staff_member(user)
            and not has_mfa(user)
        ):
            messages.warning(
                request,
                _("Staff accounts must use two-factor authentication. Set it up to continue."),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
