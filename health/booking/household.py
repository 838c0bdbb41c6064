"""A resident's household: the people they book for."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal.workflow import transition

from .conf import current_time
from .errors import BookingError
from .models import ACTIVE_STATUSES, Appointment, Dependant, WaitlistEntry, WaitlistStatus
from .waitlists import withdraw_offer


@transaction.atomic
def remove_dependant(dependant, *, now=None):
    """Hide a dependant from new bookings and take them off every waitlist (an offer they
    held passes to the next in line); their past appointments stay as they are."""
    now = current_time(now)
    if Appointment.objects.filter(
        dependant=dependant, status__in=ACTIVE_STATUSES, end__gt=now
    ).exists():
        raise BookingError(
            _("%(name)s still has upcoming appointments. Cancel them first."), name=dependant.name
        )
    Dependant.objects.filter(pk=dependant.pk).update(is_active=False)
    owner = dependant.owner
    open_entries = WaitlistEntry.objects.filter(
        dependant=dependant, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).order_by("slot_id", "pk")
    for entry in open_entries:
        if entry.status == WaitlistStatus.OFFERED:
            withdraw_offer(entry, by=owner, now=now)
        else:
            transition(entry, WaitlistStatus.CANCELLED, by=owner, step="leave", at=now)
