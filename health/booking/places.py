"""A slot's places, the checks every booking path shares: whether a slot can be booked, whether
a person may book it (household, overlap, limit), and the counters of a slot.

Capacity: a place is taken with one conditional UPDATE (`booked = booked + 1 WHERE
booked < capacity - held AND status = 'open'`). On PostgreSQL a concurrent UPDATE of the
same row waits and then re-checks the WHERE clause against the committed row, so the
number of successful updates can never exceed capacity; a CHECK constraint backs it up.

Lock order, to keep concurrent transactions from deadlocking: resident row, then slots (by
primary key), then appointments and waitlist entries. `rules.book()` inserts its
appointment (a row no other transaction can see, so none can wait on it) before it takes the
place, so the contended slot row stays locked only from that UPDATE to the commit.
"""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery

from portal.prepared import PreparedQuery
from portal.workflow import transition

from .conf import current_time, horizon_days, horizon_end, max_upcoming
from .errors import (
    BeyondHorizon,
    BookingError,
    DependantNotFound,
    Overlapping,
    SlotClosed,
    SlotFull,
    SlotInPast,
    SlotNotFound,
    TooManyUpcoming,
)
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Slot,
    SlotStatus,
    new_check_in_code,
)


def person_lookup(person):
    """The appointments of `person` as the booking form posts it: "self" (or None) the
    resident's own, a dependant's id that dependant's; None for a value that is neither ("²"
    passes str.isdigit(), not int()), which finds nothing."""
    if person in (None, "self"):
        return {"dependant__isnull": True}
    if person.isascii() and person.isdigit() and len(person) <= 18:
        return {"dependant_id": int(person)}
    return None


def active_appointments(resident, **lookup):
    """The resident's active appointments, narrowed by `lookup` (person_lookup, a slot...)."""
    return Appointment.objects.filter(resident=resident, status__in=ACTIVE_STATUSES, **lookup)


def _slots():
    return Slot.objects.select_related("clinic", "service", "practitioner")


def _own_booking(resident, **person):
    own = active_appointments(resident, slot=OuterRef("pk"), **person)
    return Subquery(own.values("pk")[:1])


# Every booking attempt reads its slot, most of them in a rush for one time; the SQL of these
# three is built once per process (portal.prepared). The markers are never real ids.
_SLOT = PreparedQuery(lambda slot: _slots().filter(pk=slot), slot=-7_301_001)
_SLOT_FOR_SELF = PreparedQuery(
    lambda slot, resident: (
        _slots()
        .annotate(own_booking=_own_booking(resident, dependant__isnull=True))
        .filter(pk=slot)
    ),
    slot=-7_301_001,
    resident=-7_301_002,
)
_SLOT_FOR_DEPENDANT = PreparedQuery(
    lambda slot, resident, dependant: (
        _slots()
        .annotate(own_booking=_own_booking(resident, dependant_id=dependant))
        .filter(pk=slot)
    ),
    slot=-7_301_001,
    resident=-7_301_002,
    dependant=-7_301_003,
)


def slot_for_booking(slot_id, resident=None, person=None):
    """The slot (an id of at most 18 digits) with its clinic, service and practitioner, or None.

    With a `resident`, also `slot.own_booking`: the id of their active appointment in it for
    `person` ("self", or a dependant's id as the form posts it), or None; read in the same
    query, so a double submit of a full slot is answered with the booking it made."""
    if resident is None:
        return _SLOT.first(slot=slot_id)
    lookup = person_lookup(person)
    if lookup is None:
        slot = _SLOT.first(slot=slot_id)
        if slot is not None:
            slot.own_booking = None
        return slot
    if "dependant_id" in lookup:
        return _SLOT_FOR_DEPENDANT.first(
            slot=slot_id, resident=resident.pk, dependant=lookup["dependant_id"]
        )
    return _SLOT_FOR_SELF.first(slot=slot_id, resident=resident.pk)


def person_name(resident, dependant):
    if dependant is not None:
        return dependant.name
    profile = getattr(resident, "profile", None)
    return (profile.display_name if profile else "") or resident.email


_LOCK_RESIDENT = PreparedQuery(
    lambda pk: (
        get_user_model().objects.select_for_update(no_key=True).filter(pk=pk).values_list("pk")
    ),
    pk=-7_301_002,
)


def lock_resident(resident):
    """Serialise one resident's bookings (limits and overlap are read-then-write rules).

    FOR NO KEY UPDATE: the lock other bookings of this resident wait for, without blocking the
    key-share locks that foreign keys to the user row (a notification written to them by a
    cancellation elsewhere) take at commit, which FOR UPDATE would turn into a deadlock."""
    _LOCK_RESIDENT.first(pk=resident.pk)


def get_slot(slot_id, *, lock=False):
    try:
        pk = int(slot_id)
    except (TypeError, ValueError):
        raise SlotNotFound() from None
    queryset = _slots()
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(pk=pk)
    except (Slot.DoesNotExist, OverflowError):
        raise SlotNotFound() from None


def check_slot_bookable(slot, now=None):
    """Raise the error a resident should see if this slot cannot be booked right now."""
    now = current_time(now)
    if not slot.clinic.is_active or not slot.service.is_active:
        raise SlotNotFound()
    if slot.start <= now:
        raise SlotInPast()
    if slot.start >= horizon_end(now):
        raise BeyondHorizon(days=horizon_days())
    if slot.status != SlotStatus.OPEN:
        raise SlotClosed()


def check_dependant(resident, dependant):
    if dependant is not None and (dependant.owner_id != resident.pk or not dependant.is_active):
        raise DependantNotFound()


def _person_counts(resident, start, end, now, **person):
    """Of the person's active appointments: how many overlap start–end, how many end after
    now. Grouped by resident, so no appointment is no row."""
    return (
        active_appointments(resident, **person)
        .values("resident")
        .annotate(
            overlapping=Count("pk", filter=Q(start__lt=end, end__gt=start)),
            upcoming=Count("pk", filter=Q(end__gt=now)),
        )
        .values_list("overlapping", "upcoming")
    )


_START, _END, _NOW = (datetime(1901, 1, day, tzinfo=UTC) for day in (1, 2, 3))
# Both person rules in one query, run by every booking attempt that finds a place.
_COUNTS_FOR_SELF = PreparedQuery(
    lambda resident, start, end, now: _person_counts(
        resident, start, end, now, dependant__isnull=True
    ),
    resident=-7_301_002,
    start=_START,
    end=_END,
    now=_NOW,
)
_COUNTS_FOR_DEPENDANT = PreparedQuery(
    lambda resident, dependant, start, end, now: _person_counts(
        resident, start, end, now, dependant_id=dependant
    ),
    resident=-7_301_002,
    dependant=-7_301_003,
    start=_START,
    end=_END,
    now=_NOW,
)


def check_person(resident, dependant, start, end, now, *, exclude_pk=None):
    """Overlap and the per-person limit of upcoming appointments."""
    if exclude_pk is not None:  # a move: the appointment being moved does not count
        person = {"dependant": dependant} if dependant else {"dependant__isnull": True}
        moved = _person_counts(resident, start, end, now, **person).exclude(pk=exclude_pk)
        counts = next(iter(moved), None)
    elif dependant is None:
        counts = _COUNTS_FOR_SELF.first(resident=resident.pk, start=start, end=end, now=now)
    else:
        counts = _COUNTS_FOR_DEPENDANT.first(
            resident=resident.pk, dependant=dependant.pk, start=start, end=end, now=now
        )
    overlapping, upcoming = counts or (0, 0)
    if overlapping:
        raise Overlapping(name=person_name(resident, dependant))
    if upcoming >= max_upcoming():
        raise TooManyUpcoming(name=person_name(resident, dependant), limit=max_upcoming())


def take_place(slot):
    """The capacity rule: one conditional UPDATE; True if a place was taken."""
    return bool(
        Slot.objects.filter(
            pk=slot.pk, status=SlotStatus.OPEN, booked__lt=F("capacity") - F("held")
        ).update(booked=F("booked") + 1)
    )


def why_not_taken(slot):
    current = Slot.objects.filter(pk=slot.pk).values_list("status", flat=True).first()
    return SlotClosed() if current != SlotStatus.OPEN else SlotFull()


def release_place(slot_pk):
    Slot.objects.filter(pk=slot_pk).update(booked=F("booked") - 1)


def take_held_place(slot):
    """An accepted offer: a place held for the waitlist becomes a booked one."""
    return bool(
        Slot.objects.filter(pk=slot.pk, status=SlotStatus.OPEN, held__gt=0).update(
            held=F("held") - 1, booked=F("booked") + 1
        )
    )


def hold_place(slot):
    """Hold a free place for a waitlist offer; True if one was free."""
    return bool(
        Slot.objects.filter(
            pk=slot.pk, status=SlotStatus.OPEN, booked__lt=F("capacity") - F("held")
        ).update(held=F("held") + 1)
    )


def release_held_place(slot_pk):
    Slot.objects.filter(pk=slot_pk).update(held=F("held") - 1)


def overlapping_exists(resident, dependant, slot):
    """Whether the person already has an active appointment overlapping the slot's time."""
    return Appointment.objects.filter(
        resident=resident,
        dependant=dependant,
        status__in=ACTIVE_STATUSES,
        start__lt=slot.end,
        end__gt=slot.start,
    ).exists()


def new_appointment(slot, resident, dependant, now, **extra):
    """An appointment in `slot` not yet saved; workflow.transition() creates it (a new
    check-in code each time it is built)."""
    return Appointment(
        slot=slot,
        resident=resident,
        dependant=dependant,
        start=slot.start,
        end=slot.end,
        booked_at=now,
        check_in_code=new_check_in_code(),
        **extra,
    )


def create_appointment(slot, resident, dependant, now, *, step, by=None, **extra):
    """Create a booked appointment through the workflow step `step` (its history row, its
    confirmation and the step's effects come with it), inside a savepoint of the caller's
    transaction, retried on a check-in code collision. An overlap that a writer outside these
    rules slipped past the lock (the PostgreSQL exclusion constraint) is Overlapping."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                appointment = new_appointment(slot, resident, dependant, now, **extra)
                transition(
                    appointment,
                    AppointmentStatus.BOOKED,
                    by=by or resident,
                    step=step,
                    context={"slot": slot},
                    at=now,
                )
                return appointment
        except IntegrityError:
            if overlapping_exists(resident, dependant, slot):
                raise Overlapping(name=person_name(resident, dependant)) from None
    raise BookingError()
