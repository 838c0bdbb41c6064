"""Booking's messages: reminders the day before, each in its recipient's language."""

from datetime import timedelta

from django.utils import timezone, translation

import pytest

from health.booking import notifications, rules
from health.booking.models import (
    AppointmentStatus,
)
from portal.notifications.models import Message
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    SlotFactory,
    fresh,
    local,
)

pytestmark = pytest.mark.django_db


def test_reminders_are_sent_once_the_day_before(clinic, service, settings, outbox):
    settings.BOOKING_REMINDER_TIME = "18:00"
    today = timezone.localdate()
    tomorrow_slot = SlotFactory(
        clinic=clinic, service=service, start=local(today + timedelta(days=1), 0, 0), capacity=2
    )
    later_slot = SlotFactory(
        clinic=clinic, service=service, start=local(today + timedelta(days=2), 9)
    )
    due = AppointmentFactory(slot=tomorrow_slot, booked_at=local(today, 9))
    not_yet = AppointmentFactory(slot=later_slot, booked_at=local(today, 9))
    just_booked = AppointmentFactory(slot=tomorrow_slot, booked_at=local(today, 18, 5))

    assert notifications.send_reminders(now=local(today, 17, 59)) == 0
    assert notifications.send_reminders(now=local(today, 18, 0)) == 1
    assert notifications.send_reminders(now=local(today, 18, 15)) == 0  # ran twice: sent once

    assert fresh(due).reminder_sent_at is not None
    assert fresh(not_yet).reminder_sent_at is None
    assert fresh(just_booked).reminder_sent_at is None  # its confirmation is minutes old
    [reminder] = outbox(due.resident)
    assert due.check_in_code in reminder.body


def test_cancelled_appointments_get_no_reminder(clinic, service):
    today = timezone.localdate()
    slot = SlotFactory(clinic=clinic, service=service, start=local(today + timedelta(days=1), 9))
    appointment = AppointmentFactory(slot=slot, status=AppointmentStatus.CANCELLED)
    assert notifications.send_reminders(now=local(today, 20)) == 0
    assert fresh(appointment).reminder_sent_at is None


def test_messages_follow_each_recipients_language(slot):
    """A confirmation is written in the recipient's language, whatever language is active."""
    chinese, english = UserFactory(), UserFactory()
    english.profile.preferred_language = "en"
    english.profile.save()
    chinese.profile.preferred_language = "zh-hant"
    chinese.profile.save()
    rules.book(chinese, slot.pk)
    rules.book(english, slot.pk)
    zh = Message.objects.get(user=chinese)
    en = Message.objects.get(user=english)
    assert en.subject.startswith("Clinic appointment booked")
    with translation.override("zh-hant"):
        expected = translation.gettext("Clinic appointment booked: %(date)s").split("%")[0]
    assert zh.language == "zh-hant" and zh.subject.startswith(expected)
