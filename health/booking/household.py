"""A resident's household: the people they book for."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

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
    WaitlistEntry.objects.filter(dependant=dependant, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.CANCELLED
    )
    offered = WaitlistEntry.objects.filter(dependant=dependant, status=WaitlistStatus.OFFERED)
    for entry_pk, slot_pk in offered.order_by("slot_id").values_list("pk", "slot_id"):
        withdraw_offer(entry_pk, slot_pk, now)
