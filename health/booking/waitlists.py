"""Waitlists: joining a full time, offering a freed place to the first in line (holding it for
them), accepting, declining or leaving, and offers that expire unanswered."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse

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
    ACTIVE_STATUSES,
    WAITLIST_OPEN_STATUSES,
    Appointment,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from .notifications import notify_booked, rebook_url, send
from .places import (
    check_dependant,
    check_person,
    check_slot_bookable,
    create_appointment,
    get_slot,
    lock_resident,
    person_name,
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
    if Appointment.objects.filter(
        resident=resident,
        dependant=dependant,
        status__in=ACTIVE_STATUSES,
        start__lt=slot.end,
        end__gt=slot.start,
    ).exists():
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
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                slot=slot, resident=resident, dependant=dependant, created_at=now
            )
    except IntegrityError:
        raise AlreadyWaiting(name=name) from None


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
        held = Slot.objects.filter(
            pk=slot.pk, status=SlotStatus.OPEN, booked__lt=F("capacity") - F("held")
        ).update(held=F("held") + 1)
        if not held:
            break
        expires = min(now + timedelta(hours=offer_hours()), slot.start)
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=WaitlistStatus.OFFERED, offered_at=now, offer_expires_at=expires
        )
        entry.status, entry.offered_at, entry.offer_expires_at = (
            WaitlistStatus.OFFERED,
            now,
            expires,
        )
        send(
            entry.resident,
            "offer",
            {"entry": entry, "slot": slot, "name": person_name(entry.resident, entry.dependant)},
            url=reverse("booking:waitlist"),
        )
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
        WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
            status=WaitlistStatus.CANCELLED
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
    if entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at <= now:
        raise OfferNotOpen()
    slot = entry.slot
    check_dependant(resident, entry.dependant)
    lock_resident(resident)
    check_person(resident, entry.dependant, slot.start, slot.end, now)
    moved = Slot.objects.filter(pk=slot.pk, status=SlotStatus.OPEN, held__gt=0).update(
        held=F("held") - 1, booked=F("booked") + 1
    )
    if not moved:
        raise why_not_taken(slot)
    if not WaitlistEntry.objects.filter(
        pk=entry.pk, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
    ).update(status=WaitlistStatus.BOOKED):
        raise OfferNotOpen()
    appointment = create_appointment(slot, resident, entry.dependant, now)
    WaitlistEntry.objects.filter(pk=entry.pk).update(appointment=appointment)
    notify_booked(appointment)
    return appointment


@transaction.atomic
def leave_waitlist(resident, entry_id, *, now=None):
    """Leave a waitlist, or decline an offer (its place passes to the next in line)."""
    now = current_time(now)
    entry = _get_entry(entry_id, resident)
    if entry.status == WaitlistStatus.OFFERED:
        if withdraw_offer(entry.pk, entry.slot_id, now):
            return entry
    elif WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.CANCELLED
    ):
        return entry
    raise OfferNotOpen()


def withdraw_offer(entry_pk, slot_pk, now):
    """Cancel an open offer and pass its held place to the next in line. False if the offer
    was no longer open (answered or expired meanwhile)."""
    Slot.objects.select_for_update().filter(pk=slot_pk).values_list("pk").first()
    if not WaitlistEntry.objects.filter(pk=entry_pk, status=WaitlistStatus.OFFERED).update(
        status=WaitlistStatus.CANCELLED
    ):
        return False
    Slot.objects.filter(pk=slot_pk).update(held=F("held") - 1)
    offer_free_places(slot_pk, now=now)
    return True


def expire_offers(*, now=None):
    """Pass unanswered offers on to the next in line; drop waiting entries of past slots.

    Safe to run twice at once: each expiry is a conditional UPDATE. Returns how many
    offers expired.
    """
    now = current_time(now)
    expired = 0
    due = WaitlistEntry.objects.filter(
        status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", "slot_id")
    for entry_pk, slot_pk in list(due[:1000]):
        with transaction.atomic():
            Slot.objects.select_for_update().filter(pk=slot_pk).values_list("pk").first()
            if not WaitlistEntry.objects.filter(
                pk=entry_pk, status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
            ).update(status=WaitlistStatus.EXPIRED):
                continue
            Slot.objects.filter(pk=slot_pk).update(held=F("held") - 1)
            entry = WaitlistEntry.objects.select_related(
                "resident", "slot__clinic", "slot__service"
            ).get(pk=entry_pk)
            send(
                entry.resident,
                "offer_expired",
                {"entry": entry, "slot": entry.slot},
                url=rebook_url(entry.slot),
            )
            offer_free_places(slot_pk, now=now)
            expired += 1
    WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, slot__start__lte=now).update(
        status=WaitlistStatus.EXPIRED
    )
    return expired
