"""Who a notification goes to: the recipient's profile and language."""

from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

from portal.accounts.models import Profile


def recipient_profile(user):
    """The user's profile, or an unsaved one with the defaults if they have none yet."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user)


def recipient_language_code(user):
    """The language code notifications for `user` are written in."""
    language = recipient_profile(user).preferred_language
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


@contextmanager
def recipient_language(user):
    """Activate the recipient's preferred language for the duration of the block.

    Use it to render a template for a notification body in the language the resident reads,
    whatever language the current request (an officer's, a clinic's) is in:

        with recipient_language(case.applicant):
            body = render_to_string("services/notifications/decided.txt", {"case": case})
    """
    with translation.override(recipient_language_code(user)):
        yield
