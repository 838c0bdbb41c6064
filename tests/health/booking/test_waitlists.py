"""Waitlists: joining, offers to the first in line, accepting, declining, expiry."""

from datetime import timedelta

from django.utils import timezone

import pytest

from health.booking import errors, rules, schedules, waitlists
from health.booking.models import (
    Appointment,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.factories import UserFactory

from .factories import (
    DependantFactory,
    SlotFactory,
    fresh,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def test_waitlist_only_for_full_slots(slot, resident):
    with pytest.raises(errors.SlotNotFull):
        waitlists.join_waitlist(resident, slot.pk)


def test_waitlist_join_once(full_slot, resident):
    waitlists.join_waitlist(resident, full_slot.pk)
    with pytest.raises(errors.AlreadyWaiting):
        waitlists.join_waitlist(resident, full_slot.pk)
    assert WaitlistEntry.objects.filter(resident=resident).count() == 1


def test_cancellation_offers_the_place_to_the_first_in_line(full_slot, outbox):
    first, second = UserFactory(), UserFactory()
    waitlists.join_waitlist(first, full_slot.pk)
    waitlists.join_waitlist(second, full_slot.pk)
    holder_appointment = Appointment.objects.get(slot=full_slot)

    rules.cancel(holder_appointment, by=holder_appointment.resident)

    entry = WaitlistEntry.objects.get(resident=first)
    assert entry.status == WaitlistStatus.OFFERED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.WAITING
    slot = fresh(full_slot)
    assert (slot.booked, slot.held) == (0, 1)
    # The held place is not up for grabs.
    with pytest.raises(errors.SlotFull):
        rules.book(UserFactory(), slot.pk)
    assert any(m.url == "/clinics/waitlist/" for m in outbox(first))

    appointment = waitlists.accept_offer(first, entry.pk)
    assert appointment.slot_id == slot.pk
    slot = fresh(slot)
    assert (slot.booked, slot.held) == (1, 0)
    assert fresh(entry).status == WaitlistStatus.BOOKED


def test_expired_offer_passes_to_the_next(full_slot, outbox):
    first, second = UserFactory(), UserFactory()
    first_entry = waitlists.join_waitlist(first, full_slot.pk)
    waitlists.join_waitlist(second, full_slot.pk)
    now = timezone.now()
    rules.cancel(Appointment.objects.get(slot=full_slot), by=None, now=now)

    later = now + timedelta(hours=13)
    assert waitlists.expire_offers(now=later) == 1
    assert waitlists.expire_offers(now=later) == 0  # running twice does nothing more

    assert fresh(first_entry).status == WaitlistStatus.EXPIRED
    second_entry = WaitlistEntry.objects.get(resident=second)
    assert second_entry.status == WaitlistStatus.OFFERED
    assert fresh(full_slot).held == 1
    with pytest.raises(errors.OfferNotOpen):
        waitlists.accept_offer(first, first_entry.pk, now=later)


def test_declining_an_offer_passes_it_on(full_slot):
    first, second = UserFactory(), UserFactory()
    first_entry = waitlists.join_waitlist(first, full_slot.pk)
    waitlists.join_waitlist(second, full_slot.pk)
    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)

    waitlists.leave_waitlist(first, first_entry.pk)

    assert fresh(first_entry).status == WaitlistStatus.CANCELLED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.OFFERED
    assert fresh(full_slot).held == 1


def test_someone_elses_offer_cannot_be_accepted(full_slot, resident):
    entry = waitlists.join_waitlist(UserFactory(), full_slot.pk)
    with pytest.raises(WaitlistEntry.DoesNotExist):
        waitlists.accept_offer(resident, entry.pk)


def test_raising_capacity_offers_places(full_slot):
    waiting = waitlists.join_waitlist(UserFactory(), full_slot.pk)
    schedules.set_slot_capacity(full_slot, 2)
    assert fresh(waiting).status == WaitlistStatus.OFFERED
    with pytest.raises(errors.CapacityTooLow):
        schedules.set_slot_capacity(full_slot, 1)


def test_waitlist_places_per_person_are_limited(clinic, service, resident, settings):
    settings.BOOKING_MAX_UPCOMING = 2
    slots = [
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9 + i)) for i in range(3)
    ]
    for slot in slots:
        rules.book(UserFactory(), slot.pk)
    waitlists.join_waitlist(resident, slots[0].pk)
    waitlists.join_waitlist(resident, slots[1].pk)
    with pytest.raises(errors.TooManyWaiting):
        waitlists.join_waitlist(resident, slots[2].pk)


def test_accepting_an_offer_for_a_removed_dependant_is_refused(full_slot, resident):
    child = DependantFactory(owner=resident)
    entry = waitlists.join_waitlist(resident, full_slot.pk, dependant=child)
    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)
    assert fresh(entry).status == WaitlistStatus.OFFERED
    type(child).objects.filter(pk=child.pk).update(is_active=False)

    with pytest.raises(errors.DependantNotFound):
        waitlists.accept_offer(resident, entry.pk)

    assert fresh(entry).status == WaitlistStatus.OFFERED
    slot = fresh(full_slot)
    assert (slot.booked, slot.held) == (0, 1)
    assert not Appointment.objects.filter(dependant=child).exists()


def test_an_offer_skips_someone_who_booked_that_time_elsewhere(full_slot, clinic, service, outbox):
    first, second = UserFactory(), UserFactory()
    waitlists.join_waitlist(first, full_slot.pk)
    waitlists.join_waitlist(second, full_slot.pk)
    # The first in line has since booked the same time at another desk of the clinic.
    same_time = SlotFactory(
        clinic=clinic, service=service, start=full_slot.start, end=full_slot.end, capacity=1
    )
    rules.book(first, same_time.pk)

    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)

    assert WaitlistEntry.objects.get(resident=first).status == WaitlistStatus.CANCELLED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.OFFERED
    assert waitlists.accept_offer(second, WaitlistEntry.objects.get(resident=second).pk)
    assert (fresh(full_slot).booked, fresh(full_slot).held) == (1, 0)


def test_an_offer_passes_over_someone_at_their_limit_who_stays_in_line(
    full_slot, clinic, service, settings
):
    settings.BOOKING_MAX_UPCOMING = 1
    busy, free = UserFactory(), UserFactory()
    waitlists.join_waitlist(busy, full_slot.pk)
    waitlists.join_waitlist(free, full_slot.pk)
    rules.book(busy, SlotFactory(clinic=clinic, service=service, start=tomorrow_at(8)).pk)

    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)

    assert WaitlistEntry.objects.get(resident=busy).status == WaitlistStatus.WAITING
    assert WaitlistEntry.objects.get(resident=free).status == WaitlistStatus.OFFERED


def test_waitlist_of_a_started_slot_is_dropped(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    entry = waitlists.join_waitlist(UserFactory(), slot.pk)
    waitlists.expire_offers(now=slot.start + timedelta(minutes=1))
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.EXPIRED
