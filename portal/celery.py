"""The Celery application, and `publish()`: sending a task from a web request.

Broker and schedule come from Django settings (CELERY_*).
"""

import logging
import os
import threading

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
_pools = {}
_pools_lock = threading.Lock()


def _publish_pool(timeout):
    """Broker connections for publishing: short socket timeouts and no connection retries.

    Apart from the worker's own connections, whose long BRPOP reads must not time out.
    """
    url = app.conf.broker_write_url or app.conf.broker_url
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            connection = app.connection_for_write(
                url,
                connect_timeout=timeout,
                transport_options={
                    **(app.conf.broker_transport_options or {}),
                    "socket_timeout": timeout,
                    "socket_connect_timeout": timeout,
                    "max_retries": 0,
                },
            )
            pool = _pools[url] = connection.Pool(limit=app.conf.broker_pool_limit or 10)
        return pool


def reset_publish_pools():
    """Close the publishing connections (after the broker URL changed, in tests)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.force_close_all()
        _pools.clear()


def publish(task, args=(), kwargs=None, **options):
    """Send `task` to a worker without ever holding up the caller for long. Never raises.

    Waits at most about settings.REDIS_TIMEOUT_SECONDS for the broker; while the broker is
    known not to answer (see portal.redis_breaker) it does not try at all. Returns whether the
    task was published. Use it only for work that something else catches up on when it was
    not published (the notification outbox has its sweep).
    """
    from django.conf import settings

    from .redis_breaker import breaker_for

    if app.conf.task_always_eager:  # tests, and CELERY_TASK_ALWAYS_EAGER
        try:
            task.apply_async(args, kwargs, **options)
        except Exception:
            logger.warning("Could not publish %s.", task.name, exc_info=True)
            return False
        return True
    url = app.conf.broker_write_url or app.conf.broker_url
    breaker = breaker_for(url)
    if breaker.is_open():
        logger.warning("Broker not answering; %s not published.", task.name)
        return False
    timeout = getattr(settings, "REDIS_TIMEOUT_SECONDS", 0.5)
    try:
        with _publish_pool(timeout).acquire(block=True, timeout=timeout) as connection:
            try:
                task.apply_async(args, kwargs, connection=connection, retry=False, **options)
            except Exception:
                # A connection that timed out mid-command may have a reply still coming.
                connection.close()
                raise
    except Exception as exc:
        breaker.trip(exc)
        logger.warning("Could not publish %s.", task.name, exc_info=True)
        return False
    return True
