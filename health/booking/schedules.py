"""What staff plan: weekly schedule rules and the slots they generate, closures, closing one
time, and a slot's capacity. A change never drops a booked resident silently: closing a time
cancels and tells them; a schedule change keeps booked times and reports them."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .conf import current_time, generate_weeks, local_midnight
from .errors import CapacityTooLow
from .models import (
    WAITLIST_OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Closure,
    ScheduleRule,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from .notifications import rebook_url, send
from .places import get_slot, person_name, release_place
from .waitlists import offer_free_places

logger = logging.getLogger(__name__)


@transaction.atomic
def set_slot_capacity(slot, capacity, *, now=None):
    """Change one slot's capacity; never below the places taken. Raising it offers the new
    places to the waitlist."""
    slot = get_slot(slot.pk, lock=True)
    taken = slot.booked + slot.held
    if capacity < max(taken, 1):
        raise CapacityTooLow(taken=taken)
    Slot.objects.filter(pk=slot.pk).update(capacity=capacity)
    offer_free_places(slot.pk, now=now)
    slot.refresh_from_db()
    return slot


@transaction.atomic
def close_slot(slot, *, reason, now=None):
    """Close a slot: cancel its booked appointments, end its waitlist, and tell everyone
    affected with a link to book another time. Returns the appointments cancelled."""
    now = current_time(now)
    slot = get_slot(slot.pk, lock=True)
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.CLOSED, closed_reason=reason[:200])
    slot.status, slot.closed_reason = SlotStatus.CLOSED, reason[:200]
    cancelled = []
    affected = Appointment.objects.select_related("resident", "dependant").filter(
        slot=slot, status=AppointmentStatus.BOOKED
    )
    for appointment in affected:
        Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
            status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
        )
        appointment.status = AppointmentStatus.CANCELLED
        release_place(slot.pk)
        send(
            appointment.resident,
            "closed",
            {"appointment": appointment, "slot": slot, "reason": reason},
            url=rebook_url(slot),
            appointment=appointment,
            cancelled=True,
        )
        cancelled.append(appointment)
    entries = WaitlistEntry.objects.select_related("resident__profile", "dependant").filter(
        slot=slot, status__in=WAITLIST_OPEN_STATUSES
    )
    for entry in entries:
        # Whoever was waiting, or holding an offer, hears that the time is gone.
        if WaitlistEntry.objects.filter(pk=entry.pk, status=entry.status).update(
            status=WaitlistStatus.EXPIRED
        ):
            send(
                entry.resident,
                "waitlist_closed",
                {
                    "slot": slot,
                    "reason": reason,
                    "name": person_name(entry.resident, entry.dependant),
                },
                url=rebook_url(slot),
            )
    Slot.objects.filter(pk=slot.pk).update(held=0)
    return cancelled


def closure_slots(closure):
    """The slots a closure covers (open or not)."""
    day_start = local_midnight(closure.date)
    start = (
        day_start
        if closure.start_time is None
        else timezone.make_aware(datetime.combine(closure.date, closure.start_time))
    )
    end = (
        day_start + timedelta(days=1)
        if closure.end_time is None
        else timezone.make_aware(datetime.combine(closure.date, closure.end_time))
    )
    slots = Slot.objects.filter(clinic=closure.clinic_id, start__lt=end, end__gt=start)
    if closure.service_id:
        slots = slots.filter(service=closure.service_id)
    return slots


@transaction.atomic
def apply_closure(closure, *, now=None):
    """Close every open slot a closure covers that has not begun (each affected resident is
    told); times already begun or over stay as they are. Idempotent."""
    now = current_time(now)
    cancelled = []
    slots = closure_slots(closure).filter(status=SlotStatus.OPEN, start__gt=now)
    for slot in slots.order_by("pk"):
        cancelled += close_slot(slot, reason=closure.reason, now=now)
    Closure.objects.filter(pk=closure.pk).update(applied_at=now)
    return cancelled


def _rule_starts(rule, first_day, last_day, closures):
    """(start, end) of every slot a rule makes between two local dates, closures skipped."""
    day = max(first_day, rule.valid_from)
    last = min(last_day, rule.valid_to) if rule.valid_to else last_day
    length = timedelta(minutes=rule.slot_minutes)
    while day <= last:
        if day.weekday() == rule.weekday:
            start = timezone.make_aware(datetime.combine(day, rule.start_time))
            session_end = timezone.make_aware(datetime.combine(day, rule.end_time))
            while start + length <= session_end:
                end = start + length
                if not any(
                    c.date == day
                    and (c.service_id is None or c.service_id == rule.service_id)
                    and (
                        c.start_time is None
                        or (
                            timezone.make_aware(datetime.combine(day, c.start_time)) < end
                            and timezone.make_aware(datetime.combine(day, c.end_time)) > start
                        )
                    )
                    for c in closures
                ):
                    yield start, end
                start = end
        day += timedelta(days=1)


@transaction.atomic
def sync_rule_slots(rule, *, now=None, weeks=None):
    """Make the future slots of one schedule rule match it, up to `weeks` ahead.

    Creates missing slots, deletes future slots the rule no longer makes when nobody booked
    them, and keeps (and reports) those that have bookings: a schedule change never drops
    a booked resident silently; staff close such slots explicitly, which notifies. Returns
    {"created": n, "removed": n, "kept": [slots with bookings the rule no longer makes]}.
    """
    now = current_time(now)
    today = timezone.localdate(now)
    last_day = today + timedelta(weeks=weeks or generate_weeks())
    wanted = {}
    # A clinic that is closed for good, or no longer offers the service, makes no more slots.
    in_service = (
        rule.is_active and rule.clinic.is_active and offers_service(rule.clinic, rule.service_id)
    )
    if in_service:
        closures = list(
            Closure.objects.filter(clinic=rule.clinic_id, date__range=(today, last_day))
        )
        wanted = dict(_rule_starts(rule, today, last_day, closures))
    existing = {s.start: s for s in Slot.objects.filter(rule=rule, start__gt=now)}
    made_by_rule = (rule.clinic_id, rule.service_id, rule.practitioner_id)
    stale = [
        s
        for start, s in existing.items()
        if start not in wanted
        or wanted[start] != s.end
        or (s.clinic_id, s.service_id, s.practitioner_id) != made_by_rule
    ]
    kept = [s for s in stale if s.booked or s.held]
    idle = {s.pk for s in stale if not (s.booked or s.held)}
    # An idle slot that once had appointments (cancelled ones) keeps them: it is closed and let
    # go of the rule instead of deleted. The others go.
    used = set(
        Appointment.objects.filter(slot__in=idle).values_list("slot_id", flat=True).distinct()
    )
    removed = [pk for pk in idle if pk not in used]
    Slot.objects.filter(pk__in=removed, booked=0, held=0).delete()
    Slot.objects.filter(pk__in=used, booked=0, held=0).update(status=SlotStatus.CLOSED, rule=None)
    WaitlistEntry.objects.filter(slot__in=used, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.EXPIRED
    )
    for slot in stale:
        if slot.pk in idle:  # the rule makes its time afresh if it still wants it
            del existing[slot.start]
    # Capacity follows the rule, but never drops below the places already taken.
    for slot in existing.values():
        if slot.start in wanted and slot.capacity != rule.capacity:
            set_slot_capacity(slot, max(rule.capacity, slot.booked + slot.held, 1), now=now)
    if not in_service:
        # The booked times the rule no longer makes keep their residents but take nobody new.
        for slot in kept:
            if slot.capacity > slot.booked + slot.held:
                set_slot_capacity(slot, max(slot.booked + slot.held, 1), now=now)
    new = [
        Slot(
            clinic_id=rule.clinic_id,
            service_id=rule.service_id,
            practitioner_id=rule.practitioner_id,
            rule=rule,
            start=start,
            end=end,
            capacity=rule.capacity,
        )
        for start, end in wanted.items()
        if start not in existing and start > now
    ]
    Slot.objects.bulk_create(new, ignore_conflicts=True)
    return {"created": len(new), "removed": len(idle), "kept": kept}


def offers_service(clinic, service_id):
    return clinic.services.filter(pk=service_id).exists()


@transaction.atomic
def sync_clinic_slots(clinic, *, now=None):
    """After staff change a clinic (its services, or closing it for good): every schedule rule
    of the clinic is synced, so a service it no longer offers, or a clinic no longer open, stops
    taking bookings. Returns the booked slots kept (staff close them to tell the residents)."""
    kept = []
    for rule in ScheduleRule.objects.select_related("clinic").filter(clinic=clinic):
        kept += sync_rule_slots(rule, now=now)["kept"]
    return kept


@transaction.atomic
def retire_rule(rule, *, now=None):
    """Before a schedule rule is deleted: remove its unbooked future slots. Booked ones stay
    (and are returned) so staff can close them explicitly, which tells the residents."""
    rule.is_active = False
    return sync_rule_slots(rule, now=now)["kept"]


def generate_slots(*, now=None, weeks=None):
    """Generate slots for every active rule (the periodic task). Returns slots created."""
    created = 0
    rules = ScheduleRule.objects.select_related("clinic").filter(
        is_active=True, clinic__is_active=True
    )
    for rule in rules:
        try:
            created += sync_rule_slots(rule, now=now, weeks=weeks)["created"]
        except Exception:
            # One rule that cannot be synced must not leave every other clinic without slots.
            logger.exception("Could not generate the slots of schedule rule %s", rule.pk)
    return created
