"""A Redis cache that degrades instead of failing when Redis is away.

While Redis restarts, or hangs without answering, a request should still succeed, and soon.
Every call waits at most the socket timeout (settings.REDIS_TIMEOUT_SECONDS); the first that
times out trips the server's breaker (portal/redis_breaker.py), and for the next few seconds
calls go straight to the fallback instead of each waiting again. The cache also carries
security state:
allauth's sign-in rate limits and the record of authenticator codes already used. So when the
cache is configured with a `FALLBACK` alias (the production settings point it at a cache table
in PostgreSQL), every call Redis cannot answer goes to that cache instead, and the limits keep
holding through the outage. Without one, or if the fallback fails too, reads miss, writes are
dropped, and one warning per failed call is logged.

    CACHES = {
        "default": {"BACKEND": "portal.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                    "FALLBACK": "database"},
        "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                     "LOCATION": "portal_cache"},
    }

`manage.py createcachetable` creates the table (`make run` and the deployment steps run it).
"""

import functools
import logging

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, transaction

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .redis_breaker import breaker_for

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _degrade(fallback):
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if not self.breaker.is_open():
                try:
                    return method(self, *args, **kwargs)
                except UNAVAILABLE as exc:
                    logger.warning("Cache unavailable in %s: %s", method.__name__, exc)
                    self.breaker.trip(exc)
            backup = self.fallback_cache()
            if backup is not None:
                try:
                    # In a savepoint: a failing fallback must not break the caller's transaction.
                    with transaction.atomic():
                        return getattr(backup, method.__name__)(*args, **kwargs)
                except DatabaseError as exc:
                    logger.warning("Fallback cache failed in %s: %s", method.__name__, exc)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

        return wrapper

    return decorator


def _default(key, default=None, version=None):
    return default


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._fallback_alias = params.get("FALLBACK")
        self.breaker = breaker_for(self._servers[0])

    def fallback_cache(self):
        return caches[self._fallback_alias] if self._fallback_alias else None

    # add() doubles as a lock (allauth's rate limiter takes one); with no server there is no
    # one to contend with, so report success rather than lock every user out.
    add = _degrade(True)(RedisCache.add)
    get = _degrade(_default)(RedisCache.get)
    set = _degrade(None)(RedisCache.set)
    touch = _degrade(False)(RedisCache.touch)
    delete = _degrade(False)(RedisCache.delete)
    get_many = _degrade({})(RedisCache.get_many)
    has_key = _degrade(False)(RedisCache.has_key)
    set_many = _degrade(lambda data, *a, **k: list(data))(RedisCache.set_many)
    delete_many = _degrade(None)(RedisCache.delete_many)
    clear = _degrade(False)(RedisCache.clear)

    @_degrade(None)
    def incr(self, key, delta=1, version=None):
        # A missing counter is a ValueError (callers handle it); an absent server is not.
        return super().incr(key, delta, version)
