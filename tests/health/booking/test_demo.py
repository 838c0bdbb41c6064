"""Booking's demo data for `manage.py load_demo`."""

import io

import pytest

from health.booking import rules, selectors
from health.booking.models import Appointment, Clinic, ScheduleRule, Service, Slot
from portal.accounts.models import Community
from tests.factories import CommunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_data_is_idempotent(db):
    from health.booking.demo import load_booking_demo

    for code in ["harbour", "hillside", "market"]:
        CommunityFactory(code=code)
    out = io.StringIO()
    load_booking_demo(out)
    counts = (
        Clinic.objects.count(),
        Service.objects.count(),
        ScheduleRule.objects.count(),
        Slot.objects.count(),
    )
    load_booking_demo(out)
    assert (
        Clinic.objects.count(),
        Service.objects.count(),
        ScheduleRule.objects.count(),
        Slot.objects.count(),
    ) == counts
    assert counts[0] == Community.objects.count() == 3
    assert counts[3] > 100
    assert "Clinic booking" in out.getvalue()
    # Demo slots are bookable end to end.
    slot = selectors.free_slots().order_by("start").first()
    assert isinstance(rules.book(UserFactory(), slot.pk), Appointment)
