"""Periodic transit work, run by Celery beat (in production and in the embedded `make run`,
whose worker runs beat). Thin wrappers: the rules are in realtime.py and notices.py."""

import logging

from django.conf import settings
from django.core.cache import cache

from celery import shared_task

from . import realtime

logger = logging.getLogger(__name__)
LOCK_KEY = "transit:poll-lock"


@shared_task(name="transit.tasks.poll_realtime", ignore_result=True)
def poll_realtime():
    """Poll every feed's trip updates and alerts once. A poll still running (a slow
    producer) makes the next one skip rather than pile up behind it."""
    lock_seconds = max(settings.TRANSIT_REALTIME_TIMEOUT_SECONDS * 4, 60)
    if not cache.add(LOCK_KEY, 1, lock_seconds):
        logger.info("Realtime poll skipped: the previous one is still running")
        return {}
    try:
        if settings.TRANSIT_DEMO_PRODUCER:
            _produce_demo_realtime()
        results = realtime.poll_all()
    finally:
        cache.delete(LOCK_KEY)
    for (code, kind), result in results.items():
        logger.info("Realtime %s %s: %s", code, kind, result)
    return {f"{code}:{kind}": result for (code, kind), result in results.items()}


def _produce_demo_realtime():
    """The demo's stand-in for a producer: rewrite its local files, relative to now."""
    from . import demo
    from .models import Feed

    feed = Feed.objects.filter(code=demo.FEED_CODE).first()
    if feed is not None and demo.is_demo_feed(feed):
        demo.write_realtime()
