"""Business rules of clinic booking. Views, the Wagtail admin, Celery tasks and the FHIR
layer call these functions; none of them repeats a rule.

Capacity: a place is taken with one conditional UPDATE (`booked = booked + 1 WHERE
booked < capacity - held AND status = 'open'`). On PostgreSQL a concurrent UPDATE of the
same row waits and then re-checks the WHERE clause against the committed row, so the
number of successful updates can never exceed capacity; a CHECK constraint backs it up.

Lock order, to keep concurrent transactions from deadlocking: resident row, then slots (by
primary key), then appointments and waitlist entries. `book()` inserts its appointment (a row
no other transaction can see, so none can wait on it) before it takes the place, so the
contended slot row stays locked only from that UPDATE to the commit.

Every failure is a `BookingError` subclass carrying a translated message for the person
who caused it; nothing is changed when one is raised (each function is one transaction).
"""

import io
import logging
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import segno

from . import ics
from .models import (
    ACTIVE_STATUSES,
    WAITLIST_OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Clinic,
    Closure,
    Dependant,
    ScheduleRule,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
    new_check_in_code,
    normalise_check_in_code,
)

logger = logging.getLogger(__name__)


# Settings ---------------------------------------------------------------------------------------
def max_upcoming():
    return settings.BOOKING_MAX_UPCOMING


def horizon_days():
    return settings.BOOKING_HORIZON_DAYS


def generate_weeks():
    return settings.BOOKING_GENERATE_WEEKS


def offer_hours():
    return settings.BOOKING_WAITLIST_OFFER_HOURS


def reminder_time():
    hours, minutes = settings.BOOKING_REMINDER_TIME.split(":")
    return time(int(hours), int(minutes))


# Errors -----------------------------------------------------------------------------------------
class BookingError(Exception):
    """A rule said no. `message` is translated lazily, in whatever language is active."""

    code = "invalid"
    message = _("This could not be done. Please try again.")

    def __init__(self, message=None, **params):
        if message is not None:
            self.message = message
        self.params = params
        super().__init__(self.code)

    def __str__(self):
        return str(self.message) % self.params if self.params else str(self.message)


class SlotNotFound(BookingError):
    code = "not-found"
    message = _("This time is not available for booking. Please choose another time.")


class SlotFull(BookingError):
    code = "full"
    message = _("This time is fully booked. Choose another time or join the waitlist.")


class SlotClosed(BookingError):
    code = "closed"
    message = _("The clinic has closed this time. Please choose another time.")


class SlotInPast(BookingError):
    code = "past"
    message = _("This time has already passed. Please choose a later time.")


class BeyondHorizon(BookingError):
    code = "horizon"
    message = _("Bookings open %(days)s days ahead. Please choose an earlier day.")


class TooManyUpcoming(BookingError):
    code = "limit"
    message = _(
        "%(name)s already has %(limit)s upcoming appointments, the most allowed. "
        "Cancel one before booking another."
    )


class Overlapping(BookingError):
    code = "overlap"
    message = _("%(name)s already has an appointment at this time.")


class CutoffPassed(BookingError):
    code = "cutoff"
    message = _(
        "This appointment can only be changed online until %(hours)s hours before it. "
        "Please phone the clinic on %(phone)s."
    )


class NotActive(BookingError):
    code = "not-active"
    message = _("This appointment is no longer active, so it cannot be changed.")


class SameSlot(BookingError):
    code = "same-slot"
    message = _("This is already the time of your appointment. Choose a different time.")


class DifferentService(BookingError):
    code = "different-service"
    message = _("An appointment can only be moved to another time for the same service.")


class DifferentClinic(BookingError):
    code = "different-clinic"
    message = _(
        "An appointment can only be moved to another time at the same clinic. "
        "To go to another clinic, cancel this appointment and book there."
    )


class SlotNotFull(BookingError):
    code = "not-full"
    message = _("This time still has free places. You can book it directly.")


class AlreadyWaiting(BookingError):
    code = "already-waiting"
    message = _("%(name)s is already on the waitlist for this time.")


class TooManyWaiting(BookingError):
    code = "waitlist-limit"
    message = _(
        "%(name)s is already waiting for %(limit)s clinic times, the most allowed. "
        "Leave one of those waitlists first."
    )


class OfferNotOpen(BookingError):
    code = "offer-closed"
    message = _("This offer has expired or was already answered.")


class CodeNotFound(BookingError):
    code = "code-not-found"
    message = _("No appointment at this clinic has the check-in code %(code)s.")


class WrongDay(BookingError):
    code = "wrong-day"
    message = _("This appointment is on %(date)s, not today.")


class AlreadyCheckedIn(BookingError):
    code = "already-checked-in"
    message = _("%(name)s is already checked in.")


class InvalidTransition(BookingError):
    code = "transition"
    message = _("An appointment that is “%(status)s” cannot be changed like this.")


class TooEarly(BookingError):
    code = "too-early"
    message = _("An appointment cannot be marked as missed before its start time.")


class NotYetDay(BookingError):
    code = "not-yet-day"
    message = _("A visit can be marked as completed only on or after its day.")


class CapacityTooLow(BookingError):
    code = "capacity"
    message = _("Capacity cannot be lower than the %(taken)s places already booked or offered.")


class DependantNotFound(BookingError):
    code = "dependant"
    message = _("Choose someone from your household list.")


# Small helpers ----------------------------------------------------------------------------------
def _now(now):
    return now or timezone.now()


def horizon_end(now=None):
    """Bookings are open up to and including the last day of the horizon (local time)."""
    last_day = timezone.localdate(_now(now)) + timedelta(days=horizon_days())
    return local_midnight(last_day + timedelta(days=1))


def local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def absolute_url(path):
    return f"{settings.PORTAL_BASE_URL}{path}"


def person_name(resident, dependant):
    if dependant is not None:
        return dependant.name
    profile = getattr(resident, "profile", None)
    return (profile.display_name if profile else "") or resident.email


def _lock_resident(resident):
    """Serialise one resident's bookings (limits and overlap are read-then-write rules).

    FOR NO KEY UPDATE: the lock other bookings of this resident wait for, without blocking the
    key-share locks that foreign keys to the user row (a notification written to them by a
    cancellation elsewhere) take at commit, which FOR UPDATE would turn into a deadlock."""
    get_user_model().objects.select_for_update(no_key=True).filter(pk=resident.pk).values_list(
        "pk"
    ).first()


def _get_slot(slot_id, *, lock=False):
    try:
        pk = int(slot_id)
    except (TypeError, ValueError):
        raise SlotNotFound() from None
    queryset = Slot.objects.select_related("clinic", "service", "practitioner")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(pk=pk)
    except (Slot.DoesNotExist, OverflowError):
        raise SlotNotFound() from None


def check_slot_bookable(slot, now=None):
    """Raise the error a resident should see if this slot cannot be booked right now."""
    now = _now(now)
    if not slot.clinic.is_active or not slot.service.is_active:
        raise SlotNotFound()
    if slot.start <= now:
        raise SlotInPast()
    if slot.start >= horizon_end(now):
        raise BeyondHorizon(days=horizon_days())
    if slot.status != SlotStatus.OPEN:
        raise SlotClosed()


def _check_dependant(resident, dependant):
    if dependant is not None and (dependant.owner_id != resident.pk or not dependant.is_active):
        raise DependantNotFound()


def _check_person(resident, dependant, start, end, now, *, exclude_pk=None):
    """Overlap and the per-person limit of upcoming appointments."""
    active = Appointment.objects.filter(
        resident=resident, dependant=dependant, status__in=ACTIVE_STATUSES
    )
    if exclude_pk is not None:
        active = active.exclude(pk=exclude_pk)
    # Both rules in one query: this runs on every booking attempt.
    counts = active.aggregate(
        overlapping=Count("pk", filter=Q(start__lt=end, end__gt=start)),
        upcoming=Count("pk", filter=Q(end__gt=now)),
    )
    if counts["overlapping"]:
        raise Overlapping(name=person_name(resident, dependant))
    if counts["upcoming"] >= max_upcoming():
        raise TooManyUpcoming(name=person_name(resident, dependant), limit=max_upcoming())


def _take_place(slot):
    """The capacity rule: one conditional UPDATE; True if a place was taken."""
    return bool(
        Slot.objects.filter(
            pk=slot.pk, status=SlotStatus.OPEN, booked__lt=F("capacity") - F("held")
        ).update(booked=F("booked") + 1)
    )


def _why_not_taken(slot):
    current = Slot.objects.filter(pk=slot.pk).values_list("status", flat=True).first()
    return SlotClosed() if current != SlotStatus.OPEN else SlotFull()


def _create_appointment(slot, resident, dependant, now, **extra):
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Appointment.objects.create(
                    slot=slot,
                    resident=resident,
                    dependant=dependant,
                    start=slot.start,
                    end=slot.end,
                    booked_at=now,
                    check_in_code=new_check_in_code(),
                    **extra,
                )
        except IntegrityError:
            # Either the PostgreSQL exclusion constraint (a writer outside these functions
            # slipped an overlapping appointment in) or a check-in code collision.
            if Appointment.objects.filter(
                resident=resident,
                dependant=dependant,
                status__in=ACTIVE_STATUSES,
                start__lt=slot.end,
                end__gt=slot.start,
            ).exists():
                raise Overlapping(name=person_name(resident, dependant)) from None
    raise BookingError()


# Notifications ----------------------------------------------------------------------------------
def _send(user, template, context, *, url="", appointment=None, cancelled=False, email=False):
    """Render a message in the recipient's language and put it in the outbox (same transaction)."""
    from portal.notifications.services import Attachment, notify, recipient_language

    with recipient_language(user):
        # The outbox stores the portal path; the text carries the absolute link for e-mail.
        context = {"base_url": settings.PORTAL_BASE_URL, "url": absolute_url(url), **context}
        subject = render_to_string(f"booking/emails/{template}_subject.txt", context).strip()
        body = render_to_string(f"booking/emails/{template}.txt", context)
        attachments = ()
        if appointment is not None:
            attachments = (
                Attachment(
                    ics.ics_filename(appointment),
                    ics.appointment_ics(appointment, cancelled=cancelled),
                    ics.ICS_MIMETYPE,
                ),
            )
            if not cancelled:
                # The QR image of the check-in code, for the counter's scanner, offline.
                attachments += (
                    Attachment("check-in-code.png", qr_png(appointment.check_in_code), "image/png"),
                )
    return notify(
        user,
        subject,
        body,
        kind="booking",
        url=url,
        attachments=attachments,
        channels={"email"} if email else None,
    )


def qr_png(code):
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def appointment_url(appointment):
    return reverse("booking:appointment", args=[appointment.pk])


def rebook_url(slot):
    return reverse("booking:clinic_days", args=[slot.clinic_id, slot.service.code])


def _notify_booked(appointment):
    _send(
        appointment.resident,
        "booked",
        {"appointment": appointment, "slot": appointment.slot},
        url=appointment_url(appointment),
        appointment=appointment,
        email=True,
    )


# Booking ----------------------------------------------------------------------------------------
def book(resident, slot, *, dependant=None, now=None):
    """Book a place in a slot for the resident (or one of their dependants).

    `slot` is a Slot (as a view has already loaded it, with clinic and service) or its id.
    Raises SlotNotFound, SlotInPast, BeyondHorizon, SlotClosed, SlotFull, Overlapping,
    TooManyUpcoming or DependantNotFound. Sends the confirmation with its .ics on commit.
    """
    now = _now(now)
    if not isinstance(slot, Slot):
        slot = _get_slot(slot)
    check_slot_bookable(slot, now)
    _check_dependant(resident, dependant)
    if slot.free <= 0:
        # Full when it was read: answer at once, without a transaction. A slot that looked
        # free is decided by the conditional UPDATE below, never by this read.
        raise SlotFull()
    with transaction.atomic():
        _lock_resident(resident)
        _check_person(resident, dependant, slot.start, slot.end, now)
        appointment = _create_appointment(slot, resident, dependant, now)
        _notify_booked(appointment)
        # Last, so the slot row (the one every booker of this time wants) is locked only
        # until the commit that follows; losing here rolls back the appointment and message.
        if not _take_place(slot):
            raise _why_not_taken(slot)
    return appointment


def _check_cutoff(appointment, hours, now):
    if appointment.start - now < timedelta(hours=hours):
        raise CutoffPassed(hours=hours, phone=appointment.slot.clinic.phone)


def _release_place(slot_pk):
    Slot.objects.filter(pk=slot_pk).update(booked=F("booked") - 1)


@transaction.atomic
def cancel(appointment, *, by=None, reason="", now=None, enforce_cutoff=True, notify_resident=True):
    """Cancel an active appointment, free its place and offer it to the slot's waitlist.

    Residents are held to the clinic's cancel cut-off; staff and closures pass
    enforce_cutoff=False. Raises CutoffPassed or NotActive.
    """
    now = _now(now)
    slot = _get_slot(appointment.slot_id, lock=True)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive()
    if enforce_cutoff:
        _check_cutoff(appointment, slot.clinic.cancel_cutoff_hours, now)
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    )
    if not updated:
        raise NotActive()
    _release_place(slot.pk)
    appointment.refresh_from_db()
    if notify_resident:
        _send(
            appointment.resident,
            "cancelled",
            {"appointment": appointment, "slot": slot, "by_resident": by == appointment.resident},
            url=rebook_url(slot),
            appointment=appointment,
            cancelled=True,
            email=True,
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
    now = _now(now)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotActive()
    old_slot = _get_slot(appointment.slot_id)
    _check_cutoff(appointment, old_slot.clinic.reschedule_cutoff_hours, now)
    new_slot = _get_slot(new_slot_id)
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
    _check_dependant(resident, dependant)
    _lock_resident(resident)
    _check_person(resident, dependant, new_slot.start, new_slot.end, now, exclude_pk=appointment.pk)
    # Take the new place and give back the old one in primary-key order (see lock order).
    for slot in sorted([old_slot, new_slot], key=lambda s: s.pk):
        if slot is new_slot:
            if not _take_place(new_slot):
                raise _why_not_taken(new_slot)
        else:
            Slot.objects.select_for_update().filter(pk=old_slot.pk).values_list("pk").first()
    updated = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason="rescheduled"
    )
    if not updated:
        raise NotActive()
    _release_place(old_slot.pk)
    new_appointment = _create_appointment(
        new_slot, resident, dependant, now, rescheduled_from=appointment
    )
    _notify_booked(new_appointment)
    offer_free_places(old_slot.pk, now=now)
    return new_appointment


# Waitlist ---------------------------------------------------------------------------------------
@transaction.atomic
def join_waitlist(resident, slot_id, *, dependant=None, now=None):
    """Put the resident (or a dependant) in line for a full slot. Raises SlotNotFull if a
    place is free, AlreadyWaiting, Overlapping, and the slot errors of book()."""
    now = _now(now)
    slot = _get_slot(slot_id)
    check_slot_bookable(slot, now)
    _check_dependant(resident, dependant)
    _lock_resident(resident)
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
    now = _now(now)
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
        _send(
            entry.resident,
            "offer",
            {"entry": entry, "slot": slot, "name": person_name(entry.resident, entry.dependant)},
            url=reverse("booking:waitlist"),
            email=True,
        )
        offered.append(entry)
    return offered


def _can_take_offer(entry, slot, now):
    """Whether the person waiting could accept a place now. Someone who has since booked
    that time elsewhere, or a household member who was removed, leaves the line (a held place
    nobody can take would block the slot until the offer expires); someone at their limit of
    upcoming appointments keeps their place in line for a later offer."""
    try:
        _check_dependant(entry.resident, entry.dependant)
        _check_person(entry.resident, entry.dependant, slot.start, slot.end, now)
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
    now = _now(now)
    entry = _get_entry(entry_id, resident)
    if entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at <= now:
        raise OfferNotOpen()
    slot = entry.slot
    _check_dependant(resident, entry.dependant)
    _lock_resident(resident)
    _check_person(resident, entry.dependant, slot.start, slot.end, now)
    moved = Slot.objects.filter(pk=slot.pk, status=SlotStatus.OPEN, held__gt=0).update(
        held=F("held") - 1, booked=F("booked") + 1
    )
    if not moved:
        raise _why_not_taken(slot)
    if not WaitlistEntry.objects.filter(
        pk=entry.pk, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
    ).update(status=WaitlistStatus.BOOKED):
        raise OfferNotOpen()
    appointment = _create_appointment(slot, resident, entry.dependant, now)
    WaitlistEntry.objects.filter(pk=entry.pk).update(appointment=appointment)
    _notify_booked(appointment)
    return appointment


@transaction.atomic
def leave_waitlist(resident, entry_id, *, now=None):
    """Leave a waitlist, or decline an offer (its place passes to the next in line)."""
    now = _now(now)
    entry = _get_entry(entry_id, resident)
    if entry.status == WaitlistStatus.OFFERED:
        if _withdraw_offer(entry.pk, entry.slot_id, now):
            return entry
    elif WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.CANCELLED
    ):
        return entry
    raise OfferNotOpen()


def _withdraw_offer(entry_pk, slot_pk, now):
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
    now = _now(now)
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
            _send(
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


# Staff: capacity, closures, schedules -----------------------------------------------------------
@transaction.atomic
def set_slot_capacity(slot, capacity, *, now=None):
    """Change one slot's capacity; never below the places taken. Raising it offers the new
    places to the waitlist."""
    slot = _get_slot(slot.pk, lock=True)
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
    now = _now(now)
    slot = _get_slot(slot.pk, lock=True)
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
        _release_place(slot.pk)
        _send(
            appointment.resident,
            "closed",
            {"appointment": appointment, "slot": slot, "reason": reason},
            url=rebook_url(slot),
            appointment=appointment,
            cancelled=True,
            email=True,
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
            _send(
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
    now = _now(now)
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
    now = _now(now)
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


def clinics_managed_by(user):
    """The clinics a staff member runs: all for superusers, else those they are staff of."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    if user.is_superuser:
        return Clinic.objects.all()
    return Clinic.objects.filter(staff=user)


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


# Staff: the day at the clinic -------------------------------------------------------------------
@transaction.atomic
def check_in(clinic, code, *, now=None):
    """Check a patient in at the counter by the code they show (typed or scanned)."""
    now = _now(now)
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
    now = _now(now)
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
    now = _now(now)
    if timezone.localdate(appointment.start) > timezone.localdate(now):
        raise NotYetDay()
    if not Appointment.objects.filter(pk=appointment.pk, status__in=ACTIVE_STATUSES).update(
        status=AppointmentStatus.COMPLETED, finished_at=now
    ):
        raise InvalidTransition(status=appointment.get_status_display())
    appointment.refresh_from_db()
    record_encounter(appointment)
    return appointment


def record_encounter(appointment):
    """Write the Encounter of a completed visit to the FHIR store, once (conditional create on
    its identifier). Dependants have no Patient link yet, so only the resident's own visits
    are recorded. Returns the store's resource, or None when there is no linked Patient."""
    from health.fhir.access import system_requester
    from health.fhir.errors import FhirError
    from health.fhir.models import PatientLink
    from health.fhir.store import create_resource

    from . import fhir

    if appointment.dependant_id or appointment.status != AppointmentStatus.COMPLETED:
        return None
    link = PatientLink.objects.filter(user_id=appointment.resident_id).order_by("pk").first()
    if link is None:
        return None
    body = fhir.encounter_resource(appointment, patient_id=link.patient_id)
    criteria = f"identifier={fhir.ENCOUNTER_IDENTIFIER_SYSTEM}|{fhir.PREFIX}{appointment.pk}"
    try:
        with transaction.atomic():
            return create_resource(
                "Encounter", body, requester=system_requester("booking"), if_none_exist=criteria
            ).resource
    except FhirError:
        # The visit is completed either way; a record the store refuses is for staff to see
        # in the log, not a reason to stop the nurse's day list.
        logger.exception("Could not record the Encounter of appointment %s", appointment.pk)
        return None


def day_list(clinic, day, *, service=None):
    """Appointments of one clinic day (optionally one service) and counts per status."""
    appointments = (
        Appointment.objects.select_related(
            "slot__service", "slot__practitioner", "resident__profile", "dependant"
        )
        .filter(
            slot__clinic=clinic,
            start__gte=local_midnight(day),
            start__lt=local_midnight(day + timedelta(days=1)),
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("start", "pk")
    )
    if service is not None:
        appointments = appointments.filter(slot__service=service)
    appointments = list(appointments)
    counts = {
        status: 0
        for status, _label in AppointmentStatus.choices
        if status != AppointmentStatus.CANCELLED
    }
    for appointment in appointments:
        counts[appointment.status] += 1
    return appointments, counts


# Reminders --------------------------------------------------------------------------------------
def send_reminders(*, now=None):
    """Remind everyone booked for tomorrow, once the configured time of day has come.

    Each reminder is claimed with a conditional UPDATE of reminder_sent_at in the same
    transaction that writes the outbox row, so running the task twice sends nothing twice.
    """
    now = _now(now)
    local_now = timezone.localtime(now)
    if local_now.time() < reminder_time():
        return 0
    tomorrow = local_now.date() + timedelta(days=1)
    # Someone who books for tomorrow after today's reminder time has just had the
    # confirmation; a "reminder" minutes later would only be noise.
    reminder_moment = timezone.make_aware(datetime.combine(local_now.date(), reminder_time()))
    due = Appointment.objects.filter(
        status=AppointmentStatus.BOOKED,
        reminder_sent_at__isnull=True,
        booked_at__lt=reminder_moment,
        start__gte=local_midnight(tomorrow),
        start__lt=local_midnight(tomorrow + timedelta(days=1)),
    ).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            if not Appointment.objects.filter(pk=pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue
            appointment = Appointment.objects.select_related(
                "resident__profile",
                "dependant",
                "slot__clinic",
                "slot__service",
                "slot__practitioner",
            ).get(pk=pk)
            _send(
                appointment.resident,
                "reminder",
                {"appointment": appointment, "slot": appointment.slot},
                url=appointment_url(appointment),
            )
            sent += 1
    return sent


# Reading for residents --------------------------------------------------------------------------
def free_slots(now=None):
    """Open slots with a free place, inside the booking window."""
    now = _now(now)
    return Slot.objects.filter(
        status=SlotStatus.OPEN,
        start__gt=now,
        start__lt=horizon_end(now),
        booked__lt=F("capacity") - F("held"),
    )


def home_point(user):
    profile = getattr(user, "profile", None)
    community = profile.community if profile is not None else None
    if community is None:
        return None
    return community.latitude, community.longitude


def clinics_for_service(service, user, *, now=None, order="distance"):
    """Clinics offering a service, each with its distance from the resident's home community
    and its next free slot; nearest first (or soonest first with order="soonest").
    Two queries whatever the number of clinics or slots."""
    now = _now(now)
    clinics = list(
        Clinic.objects.filter(is_active=True, services=service).select_related("community")
    )
    next_free = dict(
        free_slots(now)
        .filter(service=service, clinic__in=[c.pk for c in clinics])
        .values("clinic")
        .annotate(first=Min("start"))
        .values_list("clinic", "first")
    )
    point = home_point(user)
    results = []
    for clinic in clinics:
        distance = clinic.distance_km(*point) if point else None
        results.append(
            {"clinic": clinic, "distance_km": distance, "next_free": next_free.get(clinic.pk)}
        )
    far = float("inf")
    never = now + timedelta(days=36500)

    def by_distance(item):
        return (
            item["distance_km"] if item["distance_km"] is not None else far,
            item["next_free"] or never,
        )

    def by_soonest(item):
        return (
            item["next_free"] or never,
            item["distance_km"] if item["distance_km"] is not None else far,
        )

    results.sort(key=by_soonest if order == "soonest" else by_distance)
    return results


def bookable_days(clinic, service, *, now=None):
    """Every day in the booking window with how many free places it has (0 = full/closed)."""
    now = _now(now)
    counts = dict(
        free_slots(now)
        .filter(clinic=clinic, service=service)
        .annotate(day=TruncDate("start", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    today = timezone.localdate(now)
    return [
        (today + timedelta(days=i), counts.get(today + timedelta(days=i), 0))
        for i in range(horizon_days() + 1)
    ]


def day_slots(clinic, service, day, *, now=None):
    """All future slots of one day at a clinic for a service, full and closed ones included
    (so the resident can join a waitlist)."""
    now = _now(now)
    return list(
        Slot.objects.select_related("practitioner")
        .filter(
            clinic=clinic,
            service=service,
            start__gte=max(local_midnight(day), now),
            start__lt=min(local_midnight(day + timedelta(days=1)), horizon_end(now)),
        )
        .order_by("start", "pk")
    )


def upcoming_for(user, *, now=None):
    """The resident's active appointments that have not ended, soonest first."""
    now = _now(now)
    return (
        Appointment.objects.select_related(
            "slot__clinic", "slot__service", "slot__practitioner", "dependant"
        )
        .filter(resident=user, status__in=ACTIVE_STATUSES, end__gt=now)
        .order_by("start", "pk")
    )


def past_for(user, *, now=None):
    now = _now(now)
    return (
        Appointment.objects.select_related("slot__clinic", "slot__service", "dependant")
        .filter(resident=user)
        .filter(Q(end__lte=now) | ~Q(status__in=ACTIVE_STATUSES))
        .order_by("-start", "-pk")
    )


def release_all_for(user, *, now=None):
    """Before an account is deleted: give back its places (future appointments cancelled,
    waitlist places declined) so slot counters stay true and the places reach the waitlist.
    No message goes to the leaving user; people offered a freed place are told."""
    now = _now(now)
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


def export_resident_data(user):
    """Everything booking holds about a resident, JSON-ready, for their data download."""
    appointments = (
        Appointment.objects.select_related("slot__clinic", "slot__service", "dependant")
        .filter(resident=user)
        .order_by("start", "pk")
    )
    return {
        "household": [
            {
                "name": d.name,
                "date_of_birth": d.date_of_birth.isoformat(),
                "relationship": d.relationship,
                "active": d.is_active,
            }
            for d in Dependant.objects.filter(owner=user).order_by("pk")
        ],
        "appointments": [
            {
                "clinic": a.slot.clinic.name_en,
                "service": a.slot.service.code,
                "for": a.dependant.name if a.dependant_id else None,
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "status": a.status,
                "check_in_code": a.check_in_code,
                "booked_at": a.booked_at.isoformat(),
                "cancelled_at": a.cancelled_at.isoformat() if a.cancelled_at else None,
                "cancel_reason": a.cancel_reason,
            }
            for a in appointments
        ],
        "waitlist": [
            {
                "slot_start": e.slot.start.isoformat(),
                "clinic": e.slot.clinic.name_en,
                "status": e.status,
                "joined_at": e.created_at.isoformat(),
            }
            for e in WaitlistEntry.objects.select_related("slot__clinic").filter(resident=user)
        ],
    }


def dependants_of(user):
    return Dependant.objects.filter(owner=user, is_active=True)


@transaction.atomic
def remove_dependant(dependant, *, now=None):
    """Hide a dependant from new bookings and take them off every waitlist (an offer they
    held passes to the next in line); their past appointments stay as they are."""
    now = _now(now)
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
        _withdraw_offer(entry_pk, slot_pk, now)
