"""The Celery beat jobs: thin, idempotent wrappers of the booking rules."""

from datetime import timedelta

from django.utils import timezone

import pytest

from health.booking import tasks
from health.booking.models import ScheduleRule, Slot
from portal.notifications.models import Message

from .factories import AppointmentFactory, local

pytestmark = pytest.mark.django_db


def test_tasks_wrap_the_services(clinic, service, settings):
    today = timezone.localdate()
    settings.BOOKING_REMINDER_TIME = "00:00"
    ScheduleRule.objects.create(
        clinic=clinic,
        service=service,
        weekday=(today.weekday() + 1) % 7,
        start_time="09:00",
        end_time="09:30",
        slot_minutes=15,
        capacity=1,
        valid_from=today,
    )
    assert tasks.generate_slots() == 16
    assert tasks.generate_slots() == 0
    slot = Slot.objects.filter(start__gte=local(today + timedelta(days=1), 0)).order_by("start")[0]
    appointment = AppointmentFactory(slot=slot, booked_at=timezone.now() - timedelta(days=1))
    assert tasks.send_reminders() == 1
    assert tasks.send_reminders() == 0  # twice: still one reminder
    assert (
        Message.objects.filter(user=appointment.resident, subject__icontains="Reminder").count()
        <= 1
    )
    assert Message.objects.filter(user=appointment.resident).count() == 1
    assert tasks.expire_waitlist_offers() == 0
