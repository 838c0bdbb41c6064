"""The signed-in user, read on every request with what every request asks of them.

Django's backends read the user by primary key on each request; the MFA middleware then asks
whether they hold a staff role (roles.is_staff_member), which was a second query, and many
requests then read the profile (the preferred language, a notification's channels), a third.
These two backends (Django's model backend and allauth's, otherwise unchanged) read all three
in one query, whose SQL is built once per process (portal.prepared). The flag is read with the
user, in the same request, so a role given or taken away counts from the next request on.

On a request, that query is the session's own (portal/accounts/session_store.py reads the
user with the session): the authentication middleware offers the backend the user read with
this request's session while it authenticates the request, and the backend takes it when it
is the user the session names. Anywhere else the backend reads the user itself.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend

from portal.prepared import PreparedQuery

from .roles import STAFF_GROUP_FLAG, in_staff_group


def _user_with_staff_flag(pk):
    return (
        get_user_model()
        ._default_manager.select_related("profile")
        .filter(pk=pk)
        .annotate(**{STAFF_GROUP_FLAG: in_staff_group()})
    )


SIGNED_IN_USER = PreparedQuery(_user_with_staff_flag, pk=-918_273_645)

# The user read with the session of the request being authenticated, while it is.
_offered_user = ContextVar("portal_offered_user", default=None)


@contextmanager
def offering(user):
    """Let get_user() take `user` (read with the same filter and the same flag) instead of
    reading it again, for the duration of the block, if it is the user asked for."""
    token = _offered_user.set(user)
    try:
        yield
    finally:
        _offered_user.reset(token)


class SignedInUserMixin:
    def get_user(self, user_id):
        if type(user_id) is not int:  # a custom user model's key: Django's own way
            return super().get_user(user_id)
        user = _offered_user.get()
        if user is None or user.pk != user_id:
            user = SIGNED_IN_USER.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(SignedInUserMixin, DjangoModelBackend):
    pass


class AuthenticationBackend(SignedInUserMixin, AllauthBackend):
    pass
