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

Some records must not be forgotten when Redis restarts (it keeps nothing on disk) or when the
calls switch back from the fallback to Redis: allauth's record that a TOTP code was used, and
its rate-limit history (a sign-in lock-out). Held in Redis, a code used during an outage would
be accepted again once Redis answered, and a lock-out set during it lifted. Keys that start
with one of `DURABLE_KEY_PREFIXES` (or the cache's own "DURABLE_KEY_PREFIXES" option) are
therefore kept in the fallback cache alone, Redis up or not: one store, nothing to switch.
They are few and short-lived (seconds to minutes), and read only on sign-in.
"""

import functools
import logging

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import DatabaseError, transaction

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .redis_breaker import breaker_for

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

DURABLE_KEY_PREFIXES = (
    "allauth.mfa.totp.used",  # allauth.mfa.totp.internal.auth: a TOTP code already used
    "allauth:rl:",  # allauth.core.internal.ratelimit: rate-limit history, and its locks
)


def _in_backup(cache, name, args, kwargs, fallback):
    """Call `name` on the fallback cache; the degraded value if there is none or it fails."""
    backup = cache.fallback_cache()
    if backup is not None:
        try:
            # In a savepoint: a failing fallback must not break the caller's transaction.
            with transaction.atomic():
                return getattr(backup, name)(*args, **kwargs)
        except DatabaseError as exc:
            logger.warning("Fallback cache failed in %s: %s", name, exc)
    return fallback(*args, **kwargs) if callable(fallback) else fallback


def _degrade(fallback):
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            key = kwargs.get("key", args[0] if args else None)
            if self.is_durable(key) and self._fallback_alias:
                return _in_backup(self, method.__name__, args, kwargs, fallback)
            if not self.breaker.is_open():
                try:
                    return method(self, *args, **kwargs)
                except UNAVAILABLE as exc:
                    logger.warning("Cache unavailable in %s: %s", method.__name__, exc)
                    self.breaker.trip(exc)
            return _in_backup(self, method.__name__, args, kwargs, fallback)

        return wrapper

    return decorator


def _default(key, default=None, version=None):
    return default


class _ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one `redis.Redis` per connection pool.

    Django makes a new `redis.Redis` for every call, and building one (its table of
    response callbacks) costs about as much CPU as the call itself. A `redis.Redis` holds no
    connection of its own (each command takes one from the pool and gives it back), so one
    per pool is safe to share."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClientRedisCacheClient
        self._fallback_alias = params.get("FALLBACK")
        self._durable_prefixes = tuple(params.get("DURABLE_KEY_PREFIXES", DURABLE_KEY_PREFIXES))
        self.breaker = breaker_for(self._servers[0])

    def fallback_cache(self):
        return caches[self._fallback_alias] if self._fallback_alias else None

    def is_durable(self, key):
        """Whether `key` is kept in the fallback cache only (see the module's docstring)."""
        return isinstance(key, str) and key.startswith(self._durable_prefixes)

    def _split(self, keys):
        if not self._fallback_alias:
            return [], list(keys)
        keys = list(keys)
        return [k for k in keys if self.is_durable(k)], [k for k in keys if not self.is_durable(k)]

    # add() doubles as a lock (allauth's rate limiter takes one); with no server there is no
    # one to contend with, so report success rather than lock every user out.
    add = _degrade(True)(RedisCache.add)
    get = _degrade(_default)(RedisCache.get)
    set = _degrade(None)(RedisCache.set)
    touch = _degrade(False)(RedisCache.touch)
    delete = _degrade(False)(RedisCache.delete)
    has_key = _degrade(False)(RedisCache.has_key)
    clear = _degrade(False)(RedisCache.clear)
    _get_many = _degrade({})(RedisCache.get_many)
    _set_many = _degrade(lambda data, *a, **k: list(data))(RedisCache.set_many)
    _delete_many = _degrade(None)(RedisCache.delete_many)

    def get_many(self, keys, version=None):
        durable, volatile = self._split(keys)
        found = self._get_many(volatile, version=version) if volatile else {}
        if durable:
            found.update(_in_backup(self, "get_many", (durable,), {"version": version}, {}))
        return found

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        durable, volatile = self._split(data)
        failed = []
        if volatile:
            failed += self._set_many({k: data[k] for k in volatile}, timeout, version=version)
        if durable:
            failed += _in_backup(
                self,
                "set_many",
                ({k: data[k] for k in durable}, timeout),
                {"version": version},
                lambda part, *a, **k: list(part),
            )
        return failed

    def delete_many(self, keys, version=None):
        durable, volatile = self._split(keys)
        if volatile:
            self._delete_many(volatile, version=version)
        if durable:
            _in_backup(self, "delete_many", (durable,), {"version": version}, None)

    @_degrade(None)
    def incr(self, key, delta=1, version=None):
        # A missing counter is a ValueError (callers handle it); an absent server is not.
        return super().incr(key, delta, version)
