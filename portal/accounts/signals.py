from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import translation

from .models import Profile
from .roles import is_staff_member

# Session key: this signed-in user works for the district (the header links to the back office).
STAFF_SESSION_KEY = "portal_staff"


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        Profile.objects.get_or_create(user=instance)


@receiver(user_logged_in)
def remember_staff_member(sender, request, user, **kwargs):
    """Decided once at sign-in, so the header's back-office link costs no query per page."""
    if request is not None and hasattr(request, "session"):
        request.session[STAFF_SESSION_KEY] = is_staff_member(user)


@receiver(user_logged_in)
def use_preferred_language(sender, request, user, **kwargs):
    """Speak the resident's language from the moment they sign in (the welcome message too),
    unless this browser chose one with the language switcher."""
    if request is None or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    profile = Profile.objects.filter(user=user).only("preferred_language").first()
    if profile and profile.preferred_language:
        translation.activate(profile.preferred_language)
        request.LANGUAGE_CODE = profile.preferred_language
