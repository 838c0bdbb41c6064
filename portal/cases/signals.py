"""Cases listen to the business calendar: a change there recomputes open cases' due dates."""

from django.dispatch import receiver

from portal.workcalendar.signals import calendar_changed


@receiver(calendar_changed)
def calendar_changed_recompute(sender, years, **kwargs):
    from .tasks import queue_recompute

    queue_recompute()
