"""A resident's household: removing a member."""

from datetime import timedelta

from django.utils import timezone

import pytest

from health.booking import errors, household, rules, waitlists
from health.booking.models import (
    Appointment,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    DependantFactory,
    SlotFactory,
    fresh,
)

DAY = timedelta(days=1)

pytestmark = pytest.mark.django_db


def test_removing_a_household_member_takes_them_off_the_waitlist(full_slot, resident):
    child = DependantFactory(owner=resident)
    next_in_line = UserFactory()
    offered = waitlists.join_waitlist(resident, full_slot.pk, dependant=child)
    waitlists.join_waitlist(next_in_line, full_slot.pk)
    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)
    assert fresh(offered).status == WaitlistStatus.OFFERED

    household.remove_dependant(child)

    assert fresh(offered).status == WaitlistStatus.CANCELLED
    # The held place went to the next in line instead of waiting for an offer nobody can take.
    assert WaitlistEntry.objects.get(resident=next_in_line).status == WaitlistStatus.OFFERED
    assert (fresh(full_slot).booked, fresh(full_slot).held) == (0, 1)


def test_a_household_member_with_an_unmarked_past_visit_can_be_removed(clinic, service, resident):
    child = DependantFactory(owner=resident)
    start = timezone.now() - timedelta(days=2)
    past = SlotFactory(clinic=clinic, service=service, start=start, end=start + DAY / 96)
    AppointmentFactory(slot=past, resident=resident, dependant=child)
    upcoming = rules.book(resident, SlotFactory(clinic=clinic, service=service).pk, dependant=child)

    with pytest.raises(errors.BookingError):
        household.remove_dependant(child)
    rules.cancel(upcoming, by=resident)
    household.remove_dependant(child)
    assert not fresh(child).is_active
