"""The booking rules, the life of an appointment: book, cancel, reschedule, and the clinic's
day (check-in, no-show, completed). Each function is one transaction and raises a
`BookingError` (see errors.py) that says why, changing nothing.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.workflow import System, transition

from .conf import current_time
from .errors import (
    AlreadyCheckedIn,
    BookingError,
    CodeNotFound,
    CutoffPassed,
    DifferentClinic,
    DifferentService,
    NotYetDay,
    Overlapping,
    SameSlot,
    SlotFull,
    TooEarly,
    WrongDay,
)
from .models import (
    Appointment,
    AppointmentStatus,
    Dependant,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
    normalise_check_in_code,
)
from .places import (
    check_dependant,
    check_person,
    check_slot_bookable,
    create_appointment,
    get_slot,
    lock_resident,
    new_appointment,
    overlapping_exists,
    person_name,
    take_place,
    why_not_taken,
)
from .waitlists import leave_waitlist
from .workflows import APPOINTMENT


def book(resident, slot, *, dependant=None, now=None):
    """Book a place in a slot for the resident (or one of their dependants).

    `slot` is a Slot (as a view has already loaded it, with clinic and service) or its id.
    Raises SlotNotFound, SlotInPast, BeyondHorizon, SlotClosed, SlotFull, Overlapping,
    TooManyUpcoming or DependantNotFound. Sends the confirmation with its .ics on commit.

    The appointment is created by the workflow's "book" step: its INSERT, the history row,
    the confirmation and, last, the place taken by one conditional UPDATE (so the slot row
    every booker of this time wants is locked only until the commit; losing there rolls back
    the appointment and its message). No savepoint: a constraint that refuses the INSERT (a
    check-in code collision) rolls the whole attempt back, which is then made again.
    """
    now = current_time(now)
    if not isinstance(slot, Slot):
        slot = get_slot(slot)
    check_slot_bookable(slot, now)
    check_dependant(resident, dependant)
    if slot.free <= 0:
        # Full when it was read: answer at once, without a transaction. A slot that looked
        # free is decided by the conditional UPDATE, never by this read.
        raise SlotFull()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                lock_resident(resident)
                check_person(resident, dependant, slot.start, slot.end, now)
                appointment = new_appointment(slot, resident, dependant, now)
                transition(
                    appointment,
                    AppointmentStatus.BOOKED,
                    by=resident,
                    step="book",
                    context={"slot": slot},
                    at=now,
                )
                return appointment
        except IntegrityError:
            # The PostgreSQL exclusion constraint (a writer outside these rules slipped an
            # overlapping appointment in) or a check-in code collision.
            if overlapping_exists(resident, dependant, slot):
                raise Overlapping(name=person_name(resident, dependant)) from None
    raise BookingError()


def check_cutoff(appointment, hours, now):
    if appointment.start - now < timedelta(hours=hours):
        raise CutoffPassed(hours=hours, phone=appointment.slot.clinic.phone)


def can_cancel(appointment, now=None):
    """Whether the resident may still cancel online (its state, then the clinic's cut-off)."""
    return APPOINTMENT.allows(appointment, "cancel") and _before_cutoff(
        appointment, appointment.slot.clinic.cancel_cutoff_hours, now
    )


def can_reschedule(appointment, now=None):
    """Whether the resident may still move it online (its state, then the clinic's cut-off)."""
    return APPOINTMENT.allows(appointment, "reschedule") and _before_cutoff(
        appointment, appointment.slot.clinic.reschedule_cutoff_hours, now
    )


def _before_cutoff(appointment, hours, now):
    return appointment.start - current_time(now) >= timedelta(hours=hours)


@transaction.atomic
def cancel(appointment, *, by=None, reason="", now=None, enforce_cutoff=True, step=None):
    """Cancel an active appointment, free its place and offer it to the slot's waitlist.

    `by` the resident (step "cancel"), or staff or None for the clinic ("cancel_by_clinic");
    `step` names another (the account closing). Residents are held to the clinic's cancel
    cut-off; staff and closures pass enforce_cutoff=False. Raises CutoffPassed or NotActive.
    """
    now = current_time(now)
    slot = get_slot(appointment.slot_id, lock=True)
    workflow = APPOINTMENT
    by_resident = by is not None and by.pk == appointment.resident_id
    step = step or ("cancel" if by_resident else "cancel_by_clinic")
    workflow.check(appointment, step)
    if enforce_cutoff:
        check_cutoff(appointment, slot.clinic.cancel_cutoff_hours, now)
    transition(
        appointment,
        AppointmentStatus.CANCELLED,
        by=by or System("clinic"),
        step=step,
        reason=reason,
        values={"cancelled_at": now, "cancel_reason": reason[:200]},
        context={"slot": slot},
        at=now,
    )
    return appointment


@transaction.atomic
def reschedule(appointment, new_slot_id, *, now=None):
    """Move an appointment to another slot of the same service at the same clinic, before the
    reschedule cut-off. Raises NotActive, CutoffPassed, SameSlot, DifferentService,
    DifferentClinic, DependantNotFound (the dependant was removed) and the errors of book().

    The old appointment is cancelled ("reschedule") and a new one, with a new check-in code,
    is booked ("rebook") in one transaction, so either both happen or neither does.
    """
    now = current_time(now)
    APPOINTMENT.check(appointment, "reschedule")
    old_slot = get_slot(appointment.slot_id)
    check_cutoff(appointment, old_slot.clinic.reschedule_cutoff_hours, now)
    new_slot = get_slot(new_slot_id)
    if new_slot.pk == old_slot.pk:
        raise SameSlot()
    if new_slot.service_id != old_slot.service_id:
        raise DifferentService()
    if new_slot.clinic_id != old_slot.clinic_id:
        # The page offers times at the same clinic only, and its cut-off is the one applied.
        raise DifferentClinic()
    check_slot_bookable(new_slot, now)
    resident = appointment.resident
    # Read afresh: the dependant may have been removed since the appointment was loaded.
    dependant = (
        Dependant.objects.filter(pk=appointment.dependant_id).first()
        if appointment.dependant_id is not None
        else None
    )
    check_dependant(resident, dependant)
    lock_resident(resident)
    check_person(resident, dependant, new_slot.start, new_slot.end, now, exclude_pk=appointment.pk)
    # Take the new place and lock the old slot in primary-key order (see lock order).
    for slot in sorted([old_slot, new_slot], key=lambda s: s.pk):
        if slot is new_slot:
            if not take_place(new_slot):
                raise why_not_taken(new_slot)
        else:
            Slot.objects.select_for_update().filter(pk=old_slot.pk).values_list("pk").first()
    transition(
        appointment,
        AppointmentStatus.CANCELLED,
        by=resident,
        step="reschedule",
        values={"cancelled_at": now, "cancel_reason": "rescheduled"},
        context={"slot": old_slot},
        at=now,
    )
    return create_appointment(
        new_slot, resident, dependant, now, step="rebook", rescheduled_from=appointment
    )


@transaction.atomic
def check_in(clinic, code, *, by=None, now=None):
    """Check a patient in at the counter by the code they show (typed or scanned). `by` is
    the staff member at the counter (None: another system, such as a kiosk)."""
    now = current_time(now)
    normalised = normalise_check_in_code(code)
    appointment = (
        Appointment.objects.select_related("slot__service", "resident__profile", "dependant")
        .filter(check_in_code=normalised, slot__clinic=clinic)
        .first()
    )
    if appointment is None:
        raise CodeNotFound(code=normalised or "—")
    if timezone.localdate(appointment.start) != timezone.localdate(now):
        raise WrongDay(date=timezone.localdate(appointment.start).isoformat())
    if appointment.status == AppointmentStatus.CHECKED_IN:
        raise AlreadyCheckedIn(name=appointment.patient_name)
    transition(
        appointment,
        AppointmentStatus.CHECKED_IN,
        by=by or System("check-in"),
        values={"checked_in_at": now},
        at=now,
    )
    return appointment


@transaction.atomic
def mark_no_show(appointment, *, by=None, now=None):
    """Record that a booked patient did not come (only once the appointment has started)."""
    now = current_time(now)
    if appointment.start > now:
        raise TooEarly()
    transition(
        appointment,
        AppointmentStatus.NO_SHOW,
        by=by or System("day list"),
        values={"finished_at": now},
        at=now,
    )
    return appointment


@transaction.atomic
def mark_completed(appointment, *, by=None, now=None):
    """Record a finished visit (from booked or checked in); when the resident's account is
    linked to a Patient of the health record, the visit is added to it as an Encounter."""
    now = current_time(now)
    if timezone.localdate(appointment.start) > timezone.localdate(now):
        raise NotYetDay()
    transition(
        appointment,
        AppointmentStatus.COMPLETED,
        by=by or System("day list"),
        values={"finished_at": now},
        at=now,
    )
    return appointment


def release_all_for(user, *, now=None):
    """Before an account is deleted: give back its places (future appointments cancelled,
    waitlist places declined) so slot counters stay true and the places reach the waitlist.
    No message goes to the leaving user; people offered a freed place are told."""
    now = current_time(now)
    future = Appointment.objects.filter(
        resident=user, status=AppointmentStatus.BOOKED, start__gt=now
    ).select_related("slot")
    for appointment in future:
        cancel(
            appointment,
            by=user,
            reason="account closed",
            now=now,
            enforce_cutoff=False,
            step="account_closed",
        )
    entries = WaitlistEntry.objects.filter(
        resident=user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    )
    for entry_id in list(entries.values_list("pk", flat=True)):
        leave_waitlist(user, entry_id, now=now)
