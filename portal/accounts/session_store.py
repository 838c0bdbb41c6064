"""Sessions in the database, as Django keeps them, read with SQL built once (portal.prepared).

The session is read on every request that carries a session cookie. Django's database store
builds the same SELECT for each of them; this store has it built once and runs it with the
request's key and the time now, by this server's clock as Django's store and `clearsessions`
use it. Everything else (saving, expiry, cycling the key on sign-in, deleting on sign-out) is
Django's own.
"""

from datetime import UTC, datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from portal.prepared import PreparedQuery


def _live_session(key, now):
    from django.contrib.sessions.models import Session

    return Session.objects.filter(session_key=key, expire_date__gt=now)


LIVE_SESSION = PreparedQuery(
    _live_session, key="prepared-session-key-marker", now=datetime(1901, 1, 1, tzinfo=UTC)
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        session = LIVE_SESSION.first(key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
