"""Waitlists: joining a full time, offering a freed place to the first in line (holding it for
them), accepting, declining or leaving, and offers that expire unanswered."""

import contextlib
from datetime import timedelta

from django.db import IntegrityError, transaction

from portal.workflow import System, TransitionError, transition, workflow_for

from .conf import current_time, max_upcoming, offer_hours
from .errors import (
    AlreadyWaiting,
    DependantNotFound,
    OfferNotOpen,
    Overlapping,
    SlotNotFull,
    TooManyUpcoming,
    TooManyWaiting,
)
from .models import (
    WAITLIST_OPEN_STATUSES,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from .places import (
    check_dependant,
    check_person,
    check_slot_bookable,
    create_appointment,
    get_slot,
    hold_place,
    lock_resident,
    overlapping_exists,
    person_name,
    release_held_place,
    take_held_place,
    why_not_taken,
)


@transaction.atomic
def join_waitlist(resident, slot_id, *, dependant=None, now=None):
    """Put the resident (or a dependant) in line for a full slot. Raises SlotNotFull if a
    place is free, AlreadyWaiting, Overlapping, and the slot errors of book()."""
    now = current_time(now)
    slot = get_slot(slot_id)
    check_slot_bookable(slot, now)
    check_dependant(resident, dependant)
    lock_resident(resident)
    name = person_name(resident, dependant)
    if overlapping_exists(resident, dependant, slot):
        raise Overlapping(name=name)
    open_entries = WaitlistEntry.objects.filter(
        resident=resident, dependant=dependant, status__in=WAITLIST_OPEN_STATUSES
    )
    if open_entries.filter(slot=slot).exists():
        raise AlreadyWaiting(name=name)
    if open_entries.count() >= max_upcoming():
        raise TooManyWaiting(name=name, limit=max_upcoming())
    others_waiting = WaitlistEntry.objects.filter(slot=slot, status=WaitlistStatus.WAITING).exists()
    if slot.free > 0 and not others_waiting:
        raise SlotNotFull()
    entry = WaitlistEntry(slot=slot, resident=resident, dependant=dependant, created_at=now)
    try:
        with transaction.atomic():
            transition(
                entry, WaitlistStatus.WAITING, by=resident, step="join", context={"slot": slot}
            )
    except IntegrityError:
        raise AlreadyWaiting(name=name) from None
    return entry


def offer_free_places(slot_pk, *, now=None):
    """Offer each free place of a slot to the next person waiting, holding it for them.

    Called inside the transaction that freed the place (cancel, capacity raised, offer
    expired or declined). Returns the entries offered.
    """
    now = current_time(now)
    slot = Slot.objects.select_related("clinic", "service").get(pk=slot_pk)
    if slot.status != SlotStatus.OPEN or slot.start <= now:
        return []
    offered = []
    queue = WaitlistEntry.objects.select_related("resident__profile", "dependant").filter(
        slot=slot, status=WaitlistStatus.WAITING
    )
    for entry in queue.order_by("created_at", "pk").iterator():
        if len(offered) >= slot.free:
            break
        if not _can_take_offer(entry, slot, now):
            continue
        if not hold_place(slot):
            break
        expires = min(now + timedelta(hours=offer_hours()), slot.start)
        try:
            transition(
                entry,
                WaitlistStatus.OFFERED,
                by=System("waitlist"),
                step="offer",
                values={"offered_at": now, "offer_expires_at": expires},
                context={"slot": slot},
                at=now,
            )
        except TransitionError:
            # They left the line a moment ago: the place goes to the next one.
            release_held_place(slot.pk)
            continue
        offered.append(entry)
    return offered


def _can_take_offer(entry, slot, now):
    """Whether the person waiting could accept a place now. Someone who has since booked
    that time elsewhere, or a household member who was removed, leaves the line (a held place
    nobody can take would block the slot until the offer expires); someone at their limit of
    upcoming appointments keeps their place in line for a later offer."""
    try:
        check_dependant(entry.resident, entry.dependant)
        check_person(entry.resident, entry.dependant, slot.start, slot.end, now)
    except TooManyUpcoming:
        return False
    except (DependantNotFound, Overlapping):
        with contextlib.suppress(TransitionError):  # no longer waiting anyway
            transition(
                entry,
                WaitlistStatus.CANCELLED,
                by=System("waitlist"),
                step="drop",
                context={"slot": slot},
                at=now,
            )
        return False
    return True


def _get_entry(entry_id, resident):
    try:
        pk = int(entry_id)
    except (TypeError, ValueError):
        raise WaitlistEntry.DoesNotExist from None
    return WaitlistEntry.objects.select_related("slot__clinic", "slot__service", "dependant").get(
        pk=pk, resident=resident
    )


@transaction.atomic
def accept_offer(resident, entry_id, *, now=None):
    """Turn a waitlist offer into an appointment: the held place becomes a booked one.

    Raises WaitlistEntry.DoesNotExist for someone else's entry, OfferNotOpen, DependantNotFound
    (the dependant was removed), Overlapping, TooManyUpcoming or SlotClosed.
    """
    now = current_time(now)
    entry = _get_entry(entry_id, resident)
    workflow_for(entry).check(entry, "accept")
    if entry.offer_expires_at <= now:
        raise OfferNotOpen()
    slot = entry.slot
    check_dependant(resident, entry.dependant)
    lock_resident(resident)
    check_person(resident, entry.dependant, slot.start, slot.end, now)
    # The slot first (see lock order), then the entry and the appointment.
    if not take_held_place(slot):
        raise why_not_taken(slot)
    transition(
        entry,
        WaitlistStatus.BOOKED,
        by=resident,
        step="accept",
        where={"offer_expires_at__gt": now},
        context={"slot": slot},
        at=now,
    )
    appointment = create_appointment(slot, resident, entry.dependant, now, step="accept_offer")
    WaitlistEntry.objects.filter(pk=entry.pk).update(appointment=appointment)
    return appointment


@transaction.atomic
def leave_waitlist(resident, entry_id, *, now=None):
    """Leave a waitlist, or decline an offer (its place passes to the next in line)."""
    now = current_time(now)
    entry = _get_entry(entry_id, resident)
    if entry.status == WaitlistStatus.OFFERED:
        withdraw_offer(entry, by=resident, now=now)
    else:
        transition(entry, WaitlistStatus.CANCELLED, by=resident, step="leave", at=now)
    return entry


def withdraw_offer(entry, *, by, now):
    """Decline an open offer and pass its held place to the next in line (OfferNotOpen if it
    was answered or expired meanwhile)."""
    Slot.objects.select_for_update().filter(pk=entry.slot_id).values_list("pk").first()
    transition(entry, WaitlistStatus.CANCELLED, by=by, step="decline", at=now)


def expire_offers(*, now=None):
    """Pass unanswered offers on to the next in line; end the waiting of past slots.

    Safe to run twice at once: each expiry is a conditional UPDATE. Returns how many
    offers expired.
    """
    now = current_time(now)
    expired = 0
    due = WaitlistEntry.objects.filter(
        status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", "slot_id")
    job = System("offer expiry")
    for entry_pk, slot_pk in list(due[:1000]):
        with transaction.atomic():
            Slot.objects.select_for_update().filter(pk=slot_pk).values_list("pk").first()
            entry = WaitlistEntry.objects.select_related(
                "resident", "dependant", "slot__clinic", "slot__service"
            ).get(pk=entry_pk)
            try:
                transition(
                    entry,
                    WaitlistStatus.EXPIRED,
                    by=job,
                    step="expire",
                    where={"offer_expires_at__lte": now},
                    at=now,
                )
            except TransitionError:
                continue  # answered meanwhile, or another run expired it
            expired += 1
    passed = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, slot__start__lte=now)
    for entry in passed.select_related("resident"):
        try:
            transition(entry, WaitlistStatus.EXPIRED, by=job, step="time_passed", at=now)
        except TransitionError:
            continue
    return expired
