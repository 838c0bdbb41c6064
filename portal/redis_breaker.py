"""Remember, in this process, that a Redis server stopped answering.

A frozen Redis (paused, or cut off by a network partition) accepts connections but never
answers, so every call waits for its socket timeout. One request may make many calls (cache
reads, the task it publishes); without memory, each would wait again. The first call that
times out trips the breaker for that server, and for `REDIS_RETRY_SECONDS` every caller goes
straight to its fallback (the cache's database table, the outbox sweep) instead of waiting.
Then the next call tries Redis again.

Kept per process on purpose: it is a local observation, not shared state, and a process that
has not seen the failure pays at most one timeout to learn it.
"""

import logging
import threading
import time
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

_breakers = {}
_lock = threading.Lock()


class Breaker:
    def __init__(self, name):
        self.name = name
        self._open_until = 0.0

    @property
    def cooldown(self):
        from django.conf import settings

        return getattr(settings, "REDIS_RETRY_SECONDS", 5)

    def is_open(self):
        """True while the server is known not to answer: skip it."""
        return time.monotonic() < self._open_until

    def trip(self, exc=None):
        cooldown = self.cooldown
        if not self.is_open():
            logger.warning(
                "Redis at %s is not answering (%s); using fallbacks for %ss.",
                self.name,
                exc,
                cooldown,
            )
        self._open_until = time.monotonic() + cooldown

    def reset(self):
        self._open_until = 0.0


def server_key(url):
    """'host:port' of a redis:// URL (the cache and the broker share a breaker per server)."""
    parts = urlsplit(str(url))
    if parts.scheme not in {"redis", "rediss"}:
        return str(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def breaker_for(url):
    """The breaker of the Redis server at `url`."""
    key = server_key(url)
    with _lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = Breaker(key)
        return breaker


def reset_all():
    """Forget every failure (tests, and a process that knows Redis is back)."""
    with _lock:
        for breaker in _breakers.values():
            breaker.reset()
