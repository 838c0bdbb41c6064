"""Booking rules: book, cancel, reschedule, and the clinic's day (check-in, no-show,
completed); an account's places given back when it is deleted."""

from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation

import pytest

from health.booking import errors, rules, selectors, waitlists
from health.booking.models import (
    Appointment,
    AppointmentStatus,
    Slot,
    SlotStatus,
    WaitlistStatus,
)
from portal.notifications.models import MessageAttachment
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    DependantFactory,
    SlotFactory,
    fresh,
    local,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def test_book_takes_a_place_and_sends_confirmation_with_ics(slot, resident, outbox):
    appointment = rules.book(resident, slot.pk)

    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.start, appointment.end) == (slot.start, slot.end)
    assert len(appointment.check_in_code) == 8
    assert fresh(slot).booked == 1
    [message] = outbox(resident)
    assert message.url == f"/clinics/appointments/{appointment.pk}/"
    assert appointment.check_in_code in message.body
    attachment, qr = MessageAttachment.objects.filter(message=message).order_by("pk")
    assert qr.filename == "check-in-code.png" and qr.file_content().startswith(b"\x89PNG")
    assert attachment.filename.endswith(".ics")
    assert attachment.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in bytes(attachment.content)
    # Confirmations are transactional: e-mail is forced even if the resident turned it off.
    assert set(message.deliveries.values_list("channel", flat=True)) == {"email"}


def test_confirmation_is_in_the_residents_language(slot, resident, outbox):
    resident.profile.preferred_language = "en"
    resident.profile.save()
    with translation.override("zh-hant"):
        rules.book(resident, slot.pk)
    [message] = outbox(resident)
    assert message.language == "en"
    assert "Clinic appointment booked" in message.subject


def test_full_slot_is_refused_and_nothing_changes(slot, outbox):
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    rules.book(first, slot.pk)
    rules.book(second, slot.pk)

    with pytest.raises(errors.SlotFull) as error:
        rules.book(third, slot.pk)

    assert "fully booked" in str(error.value)
    assert fresh(slot).booked == 2
    assert not Appointment.objects.filter(resident=third).exists()
    assert outbox(third) == []


def test_closed_slot_is_refused(slot, resident):
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.CLOSED)
    with pytest.raises(errors.SlotClosed):
        rules.book(resident, slot.pk)
    assert fresh(slot).booked == 0


@pytest.mark.parametrize("slot_id", [None, "", "abc", "1; DROP TABLE", -1, 10**12])
def test_tampered_slot_ids_are_a_clear_not_found(resident, slot_id):
    with pytest.raises(errors.SlotNotFound):
        rules.book(resident, slot_id)


def test_past_slot_is_refused(clinic, service, resident):
    past = SlotFactory(clinic=clinic, service=service, start=timezone.now() - timedelta(minutes=5))
    with pytest.raises(errors.SlotInPast):
        rules.book(resident, past.pk)


def test_booking_horizon_edge(clinic, service, resident, settings):
    settings.BOOKING_HORIZON_DAYS = 10
    now = timezone.now()
    last_day = timezone.localdate(now) + timedelta(days=10)
    edge = SlotFactory(clinic=clinic, service=service, start=local(last_day, 23, 45))
    beyond = SlotFactory(
        clinic=clinic, service=service, start=local(last_day + timedelta(days=1), 0, 0)
    )

    assert rules.book(resident, edge.pk, now=now).slot_id == edge.pk
    with pytest.raises(errors.BeyondHorizon) as error:
        rules.book(resident, beyond.pk, now=now)
    assert "10 days" in str(error.value)


def test_midnight_slot_belongs_to_its_own_day(clinic, service, resident):
    day = timezone.localdate() + timedelta(days=2)
    midnight = SlotFactory(clinic=clinic, service=service, start=local(day, 0, 0))
    late = SlotFactory(clinic=clinic, service=service, start=local(day - timedelta(days=1), 23, 45))

    assert [s.pk for s in selectors.day_slots(clinic, service, day)] == [midnight.pk]
    days = dict(selectors.bookable_days(clinic, service))
    assert days[day] == 1 and days[day - timedelta(days=1)] == 1
    # 23:45-00:00 and 00:00-00:15 touch but do not overlap: both can be booked.
    rules.book(resident, late.pk)
    rules.book(resident, midnight.pk)


def test_same_person_cannot_overlap(clinic, service, resident):
    first = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    overlapping = SlotFactory(
        clinic=clinic, service=service, start=tomorrow_at(10, 10), end=tomorrow_at(10, 40)
    )
    rules.book(resident, first.pk)
    with pytest.raises(errors.Overlapping):
        rules.book(resident, overlapping.pk)
    assert fresh(overlapping).booked == 0


def test_double_booking_the_same_slot_is_an_overlap(slot, resident):
    rules.book(resident, slot.pk)
    with pytest.raises(errors.Overlapping):
        rules.book(resident, slot.pk)
    assert fresh(slot).booked == 1


def test_dependant_and_resident_may_book_the_same_time(slot, resident):
    child = DependantFactory(owner=resident)
    mine = rules.book(resident, slot.pk)
    theirs = rules.book(resident, slot.pk, dependant=child)
    assert theirs.dependant == child and mine.dependant is None
    assert theirs.patient_name == child.name
    assert fresh(slot).booked == 2


def test_someone_elses_dependant_is_refused(slot, resident):
    stranger_child = DependantFactory()
    with pytest.raises(errors.DependantNotFound):
        rules.book(resident, slot.pk, dependant=stranger_child)
    assert fresh(slot).booked == 0


def test_upcoming_limit_per_person(clinic, service, resident, settings):
    settings.BOOKING_MAX_UPCOMING = 2
    slots = [
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9 + i)) for i in range(3)
    ]
    rules.book(resident, slots[0].pk)
    rules.book(resident, slots[1].pk)
    with pytest.raises(errors.TooManyUpcoming) as error:
        rules.book(resident, slots[2].pk)
    assert "2 upcoming" in str(error.value)
    # The limit is per person: a child still has their own allowance.
    child = DependantFactory(owner=resident)
    rules.book(resident, slots[2].pk, dependant=child)


def test_capacity_check_constraint_is_in_the_database(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=F("capacity") + 1)


def test_held_places_count_against_capacity_in_the_database(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2, held=1)


def test_cancel_frees_the_place_and_it_can_be_rebooked(slot, resident, outbox):
    appointment = rules.book(resident, slot.pk)
    rules.cancel(appointment, by=resident, reason="Feeling better")

    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    assert fresh(appointment).cancel_reason == "Feeling better"
    assert fresh(slot).booked == 0
    cancelled_message = outbox(resident)[-1]
    ics = bytes(MessageAttachment.objects.get(message=cancelled_message).content)
    assert b"METHOD:CANCEL" in ics and b"STATUS:CANCELLED" in ics

    again = rules.book(resident, slot.pk)
    assert again.pk != appointment.pk and fresh(slot).booked == 1


def test_cancel_twice_is_refused(slot, resident):
    appointment = rules.book(resident, slot.pk)
    rules.cancel(appointment, by=resident)
    with pytest.raises(errors.NotActive):
        rules.cancel(fresh(appointment), by=resident)
    assert fresh(slot).booked == 0


def test_cancel_after_cutoff_is_refused(slot, resident):
    appointment = rules.book(resident, slot.pk)
    late = slot.start - timedelta(hours=1)
    with pytest.raises(errors.CutoffPassed) as error:
        rules.cancel(appointment, by=resident, now=late)
    assert slot.clinic.phone in str(error.value)
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    # Staff may still cancel.
    rules.cancel(appointment, by=None, now=late, enforce_cutoff=False)
    assert fresh(appointment).status == AppointmentStatus.CANCELLED


def test_reschedule_moves_in_one_step(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    appointment = rules.book(resident, old.pk)

    moved = rules.reschedule(appointment, new.pk)

    assert moved.slot == new and moved.rescheduled_from == appointment
    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    assert (fresh(old).booked, fresh(new).booked) == (0, 1)


def test_reschedule_into_an_overlapping_slot_of_its_own_time_is_allowed(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    shifted = SlotFactory(
        clinic=clinic, service=service, start=tomorrow_at(10, 5), end=tomorrow_at(10, 20)
    )
    appointment = rules.book(resident, old.pk)
    moved = rules.reschedule(appointment, shifted.pk)
    assert moved.slot == shifted


def test_reschedule_to_a_full_slot_changes_nothing(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    full = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11), capacity=1)
    rules.book(UserFactory(), full.pk)
    appointment = rules.book(resident, old.pk)

    with pytest.raises(errors.SlotFull):
        rules.reschedule(appointment, full.pk)

    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(full).booked) == (1, 1)


def test_reschedule_rules(clinic, service, resident):
    from .factories import ServiceFactory

    other_service = ServiceFactory()
    clinic.services.add(other_service)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    other = SlotFactory(clinic=clinic, service=other_service, start=tomorrow_at(12))
    appointment = rules.book(resident, old.pk)
    with pytest.raises(errors.SameSlot):
        rules.reschedule(appointment, old.pk)
    with pytest.raises(errors.DifferentService):
        rules.reschedule(appointment, other.pk)
    with pytest.raises(errors.SlotNotFound):
        rules.reschedule(appointment, "nonsense")
    with pytest.raises(errors.CutoffPassed):
        rules.reschedule(appointment, other.pk, now=old.start - timedelta(minutes=30))


def test_check_in_by_code_typed_loosely(clinic, service):
    # Midday: half an hour later is still today whenever the suite runs.
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    slot = SlotFactory(clinic=clinic, service=service, start=now + timedelta(minutes=30))
    appointment = AppointmentFactory(slot=slot)
    typed = f" {appointment.check_in_code[:4].lower()}-{appointment.check_in_code[4:]} "

    checked = rules.check_in(clinic, typed, now=now)

    assert (
        checked.pk == appointment.pk and fresh(appointment).status == AppointmentStatus.CHECKED_IN
    )
    with pytest.raises(errors.AlreadyCheckedIn):
        rules.check_in(clinic, appointment.check_in_code, now=now)


def test_check_in_refuses_other_clinics_and_other_days(clinic, service):
    from .factories import ClinicFactory

    other_clinic = ClinicFactory(services=[service])
    now = timezone.now()
    today = AppointmentFactory(slot=SlotFactory(clinic=other_clinic, service=service, start=now))
    later = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(days=3))
    )
    with pytest.raises(errors.CodeNotFound):
        rules.check_in(clinic, today.check_in_code, now=now)
    with pytest.raises(errors.WrongDay):
        rules.check_in(clinic, later.check_in_code, now=now)
    with pytest.raises(errors.CodeNotFound):
        rules.check_in(clinic, "", now=now)


def test_no_show_and_completed(clinic, service):
    # Midday, so ten minutes earlier is the same day's list whenever the suite runs.
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    slot = SlotFactory(
        clinic=clinic, service=service, start=now - timedelta(minutes=10), capacity=3
    )
    absent, seen, future = AppointmentFactory(slot=slot), AppointmentFactory(slot=slot), None
    future = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(hours=1))
    )

    rules.mark_no_show(absent, now=now)
    rules.mark_completed(seen, now=now)

    assert fresh(absent).status == AppointmentStatus.NO_SHOW
    assert fresh(seen).status == AppointmentStatus.COMPLETED
    with pytest.raises(errors.TooEarly):
        rules.mark_no_show(future, now=now)
    with pytest.raises(errors.InvalidTransition):
        rules.mark_completed(fresh(absent), now=now)
    appointments, counts = selectors.day_list(clinic, timezone.localdate(now))
    assert counts[AppointmentStatus.NO_SHOW] == 1 and counts[AppointmentStatus.COMPLETED] == 1


def test_deleting_an_account_gives_its_places_back(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    leaving = UserFactory()
    child = DependantFactory(owner=leaving)
    rules.book(leaving, slot.pk, dependant=child)
    other = SlotFactory(clinic=clinic, service=service, capacity=1, start=tomorrow_at(14))
    rules.book(UserFactory(), other.pk)
    waitlists.join_waitlist(leaving, other.pk)
    waiting = waitlists.join_waitlist(UserFactory(), slot.pk)

    leaving.delete()

    assert fresh(slot).booked == 0 and fresh(slot).held == 1
    assert fresh(waiting).status == WaitlistStatus.OFFERED
    assert not Appointment.objects.filter(resident_id=leaving.pk).exists()


def test_reschedule_to_another_clinic_is_refused(clinic, service, resident):
    from .factories import ClinicFactory

    elsewhere = ClinicFactory(services=[service], reschedule_cutoff_hours=0)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    other = SlotFactory(clinic=elsewhere, service=service, start=tomorrow_at(11))
    appointment = rules.book(resident, old.pk)

    with pytest.raises(errors.DifferentClinic) as error:
        rules.reschedule(appointment, other.pk)

    assert "same clinic" in str(error.value)
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(other).booked) == (1, 0)
    assert Appointment.objects.filter(resident=resident).count() == 1


def test_reschedule_for_a_removed_dependant_is_refused(clinic, service, resident):
    child = DependantFactory(owner=resident)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    appointment = rules.book(resident, old.pk, dependant=child)
    # Removed by another request after the appointment was loaded.
    type(child).objects.filter(pk=child.pk).update(is_active=False)

    with pytest.raises(errors.DependantNotFound):
        rules.reschedule(appointment, new.pk)

    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(new).booked) == (1, 0)


def test_a_visit_on_a_later_day_cannot_be_marked_completed(clinic, service):
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    later_today = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(hours=3))
    )
    tomorrow = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(days=1))
    )
    with pytest.raises(errors.NotYetDay):
        rules.mark_completed(tomorrow, now=now)
    assert fresh(tomorrow).status == AppointmentStatus.BOOKED
    # Seen early on the day itself (checked in before the time) is fine.
    rules.mark_completed(later_today, now=now)
    assert fresh(later_today).status == AppointmentStatus.COMPLETED
