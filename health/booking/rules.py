"""The booking rules, the life of an appointment: book, cancel, reschedule, and the clinic's
day (check-in, no-show, completed). Each function is one transaction and raises a
`BookingError` (see errors.py) that says why, changing nothing.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .conf import current_time
from .encounters import record_encounter
from .errors import (
    AlreadyCheckedIn,
    CodeNotFound,
    CutoffPassed,
    DifferentClinic,
    DifferentService,
    InvalidTransition,
    NotActive,
    NotYetDay,
    SameSlot,
    SlotFull,
    TooEarly,
    WrongDay,
)
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Dependant,
    Slot,
    WaitlistEntry,
    WaitlistStatus,
    normalise_check_in_code,
)
from .notifications import notify_booked, rebook_url, send
from .places import (
    check_dependant,
    check_person,
    check_slot_bookable,
    create_appointment,
    get_slot,
    lock_resident,
    release_place,
    take_place,
    why_not_taken,
)
from .waitlists import leave_waitlist, offer_free_places


def book(resident, slot, *, dependant=None, now=None):
    """Book a place in a slot for the resident (or one of their dependants).

    `slot` is a Slot (as a view has already loaded it, with clinic and service) or its id.
    Raises SlotNotFound, SlotInPast, BeyondHorizon, SlotClosed, SlotFull, Overlapping,
    TooManyUpcoming or DependantNotFound. Sends the confirmation with its .ics on commit.
    """
    now = current_time(now)
    if not isinstance(slot, Slot):
        slot = get_slot(slot)
    check_slot_bookable(slot, now)
    check_dependant(resident, dependant)
    if slot.free <= 0:
        # Full when it was read: answer at once, without a transaction. A slot that looked
        # free is decided by the conditional UPDATE below, never by this read.
        raise SlotFull()
    with transaction.atomic():
        lock_resident(resident)
        check_person(resident, dependant, slot.start, slot.end, now)
        appointment = create_appointment(slot, resident, dependant, now)
        notify_booked(appointment)
        # Last, so the slot row (the one every booker of this time wants) is locked only
        # until the commit that follows; losing here rolls back the appointment and message.
        if not take_place(slot):
            raise why_not_taken(slot)
    return appointment


def check_cutoff(appointment, hours, now):
    if appointment.start - now < timedelta(hours=hours):
        raise CutoffPassed(hours=hours, phone=appointment.slot.clinic.phone)


@transaction.atomic
def cancel(appointment, *, by=None, reason="", now=None, enforce_cutoff=True, notify_resident=True):
    """Cancel an active appointment, free its place and offer it to the slot's waitlist.

    Residents are held to the clinic's cancel cut-off; staff and closures pass
    enforce_cutoff=False. Raises CutoffPassed or NotActive.
    """
    now = current_time(now)
    slot = get_slot(appointment.slot_id, lock=True)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive()
    if enforce_cutoff:
        check_cutoff(appointment, slot.clinic.cancel_cutoff_hours, now)
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    )
    if not updated:
        raise NotActive()
    release_place(slot.pk)
    appointment.refresh_from_db()
    if notify_resident:
        send(
            appointment.resident,
            "cancelled",
            {"appointment": appointment, "slot": slot, "by_resident": by == appointment.resident},
            url=rebook_url(slot),
            appointment=appointment,
            cancelled=True,
        )
    offer_free_places(slot.pk, now=now)
    return appointment


@transaction.atomic
def reschedule(appointment, new_slot_id, *, now=None):
    """Move an appointment to another slot of the same service at the same clinic, before the
    reschedule cut-off. Raises NotActive, CutoffPassed, SameSlot, DifferentService,
    DifferentClinic, DependantNotFound (the dependant was removed) and the errors of book().

    The old appointment is cancelled and a new one (with a new check-in code) is booked in
    one transaction, so either both happen or neither does.
    """
    now = current_time(now)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive()
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
    # Take the new place and give back the old one in primary-key order (see lock order).
    for slot in sorted([old_slot, new_slot], key=lambda s: s.pk):
        if slot is new_slot:
            if not take_place(new_slot):
                raise why_not_taken(new_slot)
        else:
            Slot.objects.select_for_update().filter(pk=old_slot.pk).values_list("pk").first()
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason="rescheduled"
    )
    if not updated:
        raise NotActive()
    release_place(old_slot.pk)
    new_appointment = create_appointment(
        new_slot, resident, dependant, now, rescheduled_from=appointment
    )
    notify_booked(new_appointment)
    offer_free_places(old_slot.pk, now=now)
    return new_appointment


@transaction.atomic
def check_in(clinic, code, *, now=None):
    """Check a patient in at the counter by the code they show (typed or scanned)."""
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
    if not Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CHECKED_IN, checked_in_at=now
    ):
        raise InvalidTransition(status=appointment.get_status_display())
    appointment.status, appointment.checked_in_at = AppointmentStatus.CHECKED_IN, now
    return appointment


@transaction.atomic
def mark_no_show(appointment, *, now=None):
    """Record that a booked patient did not come (only once the appointment has started)."""
    now = current_time(now)
    if appointment.start > now:
        raise TooEarly()
    if not Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.NO_SHOW, finished_at=now
    ):
        raise InvalidTransition(status=appointment.get_status_display())
    appointment.refresh_from_db()
    return appointment


@transaction.atomic
def mark_completed(appointment, *, now=None):
    """Record a finished visit (from booked or checked in); when the resident's account is
    linked to a Patient of the health record, the visit is added to it as an Encounter."""
    now = current_time(now)
    if timezone.localdate(appointment.start) > timezone.localdate(now):
        raise NotYetDay()
    if not Appointment.objects.filter(pk=appointment.pk, status__in=ACTIVE_STATUSES).update(
        status=AppointmentStatus.COMPLETED, finished_at=now
    ):
        raise InvalidTransition(status=appointment.get_status_display())
    appointment.refresh_from_db()
    record_encounter(appointment)
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
            notify_resident=False,
        )
    entries = WaitlistEntry.objects.filter(
        resident=user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    )
    for entry_id in list(entries.values_list("pk", flat=True)):
        leave_waitlist(user, entry_id, now=now)
