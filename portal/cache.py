"""A Redis cache that degrades instead of failing when Redis is away.

The cache holds nothing that cannot be recomputed (rate-limit counters, fragments), so while
Redis restarts a request should still succeed: reads miss, writes are dropped, and one warning
per failed call is logged. Without this, every page that touches the cache would answer 500
during a Redis outage, and a resident's submission would be lost with it.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _degrade(fallback):
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                logger.warning("Cache unavailable in %s: %s", method.__name__, exc)
                return fallback(*args, **kwargs) if callable(fallback) else fallback

        return wrapper

    return decorator


def _default(key, default=None, version=None):
    return default


class ResilientRedisCache(RedisCache):
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
