"""Calendar files (.ics): RFC 5545, a moved appointment moves the event, in the confirmation."""

from datetime import UTC, timedelta

from django.core import mail
from django.utils import timezone

import pytest

from health.booking import ics, rules
from portal.notifications.models import Message
from portal.notifications.services import deliver_message

from .factories import SlotFactory, local

pytestmark = pytest.mark.django_db


def unfold(text):
    return text.replace("\r\n ", "")


def test_ics_is_rfc5545(slot, resident):
    slot.clinic.name_en = "Harbour; Clinic, North"
    slot.clinic.save()
    appointment = rules.book(resident, slot.pk)
    raw = ics.appointment_ics(appointment, now=slot.start - timedelta(days=1)).decode("utf-8")

    assert raw.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert raw.endswith("END:VCALENDAR\r\n")
    assert "\n" not in raw.replace("\r\n", "")  # only CRLF line breaks
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))
    text = unfold(raw)
    assert f"UID:appointment-{appointment.pk}@" in text
    start_utc = slot.start.astimezone(UTC)
    assert f"DTSTART:{start_utc:%Y%m%dT%H%M%SZ}" in text
    assert "DTSTAMP:" in text and "DTEND:" in text
    assert appointment.check_in_code in text


def test_a_moved_appointment_moves_the_calendar_event(clinic, service, resident):
    day = timezone.localdate() + timedelta(days=3)
    first = SlotFactory(clinic=clinic, service=service, start=local(day, 9))
    second = SlotFactory(clinic=clinic, service=service, start=local(day, 10))
    third = SlotFactory(clinic=clinic, service=service, start=local(day, 11))
    booked = rules.book(resident, first.pk)
    moved = rules.reschedule(booked, second.pk)
    moved_again = rules.reschedule(moved, third.pk)

    def fields(appointment, **kwargs):
        text = unfold(ics.appointment_ics(appointment, **kwargs).decode("utf-8"))
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)

    # One event throughout: the UID of the first booking, a higher SEQUENCE at each move, so
    # a calendar program moves the event it already has instead of keeping the old time too.
    uid = f"appointment-{booked.pk}@"
    assert [fields(a)["UID"].startswith(uid) for a in (booked, moved, moved_again)] == [True] * 3
    assert [fields(a)["SEQUENCE"] for a in (booked, moved, moved_again)] == ["0", "1", "2"]
    assert fields(moved_again)["DTSTART"] == f"{third.start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    cancelled = fields(moved_again, cancelled=True)
    assert cancelled["UID"].startswith(uid) and cancelled["SEQUENCE"] == "3"
    assert cancelled["METHOD"] == "CANCEL"


def test_ics_escapes_text():
    assert ics.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_ics_folds_multibyte_text_without_breaking_characters():
    line = "SUMMARY:" + "普通科診所預約" * 10
    folded = ics.fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in parts)
    assert unfold(folded) == line


def test_confirmation_e_mail_carries_the_ics(slot, resident):
    appointment = rules.book(resident, slot.pk)
    message = Message.objects.get(user=resident, kind="booking.booked")
    deliver_message(message.pk)
    [email] = [m for m in mail.outbox if resident.email in m.to]
    assert appointment.check_in_code in email.body
    (filename, content, mimetype), (png_name, _png, png_type) = email.attachments
    assert (png_name, png_type) == ("check-in-code.png", "image/png")
    assert filename == f"appointment-{appointment.pk}.ics"
    assert mimetype.startswith("text/calendar")
    assert "BEGIN:VEVENT" in (content if isinstance(content, str) else content.decode())
