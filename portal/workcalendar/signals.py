"""`calendar_changed` tells the apps above that working days moved.

It is sent once the transaction that changed a `CalendarDay` or `CalendarYear` commits, with
the years that changed. Apps that store dates derived from the calendar (cases' due dates)
connect a receiver that recomputes them in the background. The calendar knows nothing of them:
dependencies point down.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .models import CalendarDay, CalendarYear

calendar_changed = Signal()  # sender=CalendarDay or CalendarYear, years=set of int

# Set on an instance by bulk work (seeding) that announces one change at the end instead.
_SUPPRESS = "workcalendar_suppress_signal"


def _announce(sender, years):
    def send():
        calendar_changed.send(sender=sender, years=frozenset(years))

    transaction.on_commit(send)


@receiver(post_save, sender=CalendarDay)
@receiver(post_delete, sender=CalendarDay)
def day_changed(sender, instance, **kwargs):
    if getattr(instance, _SUPPRESS, False):
        return
    _announce(sender, {instance.date.year})


@receiver(post_save, sender=CalendarYear)
@receiver(post_delete, sender=CalendarYear)
def year_changed(sender, instance, **kwargs):
    if getattr(instance, _SUPPRESS, False):
        return
    _announce(sender, {instance.year})
