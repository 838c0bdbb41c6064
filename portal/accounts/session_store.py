"""Sessions in the database, read together with their signed-in user in one query.

The session is read on every request that carries a session cookie, and on a signed-in
request the user right after it (with their profile and staff flag, portal/accounts/
backends.py). This store keeps the user's id in a column of its own beside the session data
(portal.accounts.models.Session), so one query, whose SQL is built once (portal.prepared),
reads the live session by its key and the time now (this server's clock, as Django's store
and `clearsessions` use it) and, joined to it, the user the backend would read. The user is
offered to the backend only for this request's own authentication (see backends.py), which
still checks the session data as Django does: the user id, the backend and the password
hash. Everything else (saving, expiry, cycling the key on sign-in, deleting on sign-out) is
Django's own.
"""

from datetime import UTC, datetime

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from portal.prepared import PreparedQuery

from .roles import STAFF_GROUP_FLAG, in_staff_group

SESSION_USER_FLAG = "_portal_session_user_in_staff_group"


def _live_session(key, now):
    from .models import Session

    return (
        Session.objects.select_related("user__profile")
        .filter(session_key=key, expire_date__gt=now)
        .annotate(**{SESSION_USER_FLAG: in_staff_group("user_id")})
    )


LIVE_SESSION = PreparedQuery(
    _live_session, key="prepared-session-key-marker", now=datetime(1901, 1, 1, tzinfo=UTC)
)


def user_id_of(data):
    """The signed-in user's id in session data, as the column keeps it (None when there is
    none, or when the user model's key is not an integer)."""
    value = data.get(SESSION_KEY)
    if value is None:
        return None
    try:
        pk = get_user_model()._meta.pk.to_python(value)
    except Exception:  # noqa: BLE001 - Django's own check refuses such a session later
        return None
    return pk if type(pk) is int else None


class SessionStore(DatabaseSessionStore):
    _signed_in_user = None

    @classmethod
    def get_model_class(cls):
        from .models import Session

        return Session

    @property
    def signed_in_user(self):
        """The user read with the session, loading it if need be, when the session's data
        names them; None when no one is signed in, the session is gone, or its user is."""
        data = self._get_session()
        user = self._signed_in_user
        return user if user is not None and user_id_of(data) == user.pk else None

    def _get_session_from_db(self):
        self._signed_in_user = None
        session = LIVE_SESSION.first(key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
            return None
        user = session.user  # select_related: None when the row has no user
        if user is not None:
            setattr(user, STAFF_GROUP_FLAG, getattr(session, SESSION_USER_FLAG))
            self._signed_in_user = user
        return session

    def clear(self):  # also what flush() (signing out) does first
        super().clear()
        self._signed_in_user = None

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = user_id_of(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.user_id = user_id_of(data)
        return session
