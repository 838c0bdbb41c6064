"""Background work for cases: due dates follow the calendar."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="portal.cases.tasks.recompute_due_dates")
def recompute_due_dates():
    """Work every open case's due date out again; store and record the ones that moved.
    Runs after every calendar change and once a night (in case a change's task was lost
    while the broker was away): a run that finds nothing to change writes nothing."""
    result = services.recompute_open_cases(on_change=services.record_due_date_change)
    logger.info("Due dates checked: %s open cases, %s moved.", result.checked, result.changed)
    return {"checked": result.checked, "changed": result.changed}


def queue_recompute():
    """Ask a worker to recompute due dates now. Never raises: the nightly run catches up."""
    try:
        recompute_due_dates.apply_async(retry=False)
    except Exception:
        logger.warning("Could not queue the due-date recompute; the nightly run will do it.")
