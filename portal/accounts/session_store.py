"""Sessions in the database, as Django keeps them, read with SQL built once per process.

The session is read on every request that carries a session cookie. Django's database store
builds the same SELECT for each of them; this store asks Django for it once (portal.prepared)
and runs it with the request's key. Everything else (saving, expiry, cycling the key on sign-in,
deleting on sign-out) is Django's own. Expired sessions are not read: the database's clock
decides, as `clearsessions` uses it to delete them.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import router
from django.db.models.functions import Now

from portal.prepared import PreparedQuery


def _live_session(key):
    from django.contrib.sessions.models import Session

    return Session.objects.filter(session_key=key, expire_date__gt=Now())


LIVE_SESSION = PreparedQuery(_live_session, key="prepared-session-key-marker")


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        session = LIVE_SESSION.first(using=router.db_for_read(self.model), key=self.session_key)
        if session is None:
            self._session_key = None
        return session
