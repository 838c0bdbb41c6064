"""iCalendar (RFC 5545) files for appointments, written by hand: one VEVENT, times in UTC.

A cancellation reuses the appointment's UID with METHOD:CANCEL and a higher SEQUENCE, so
calendar programs remove the event they imported from the confirmation. A rescheduled
appointment keeps the UID of the one it replaced (the first of the chain) with the next SEQUENCE,
so the new confirmation moves the event instead of adding a second one beside the old time.
"""

from datetime import UTC

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

ICS_MIMETYPE = "text/calendar"
PRODID = "-//District Portal//Clinic booking//EN"


def escape_text(value):
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma and newlines."""
    value = str(value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line):
    """Fold a content line at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with one space
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def format_utc(value):
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _first_of_chain(appointment):
    """(the appointment this one was first booked as, how many times it has been moved)."""
    from .models import Appointment

    first, moves = appointment, 0
    while first.rescheduled_from_id is not None and moves < 100:
        first = Appointment.objects.only("pk", "rescheduled_from_id").get(
            pk=first.rescheduled_from_id
        )
        moves += 1
    return first, moves


def _uid(appointment_pk):
    host = settings.PORTAL_BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"appointment-{appointment_pk}@{host or 'district-portal'}"


def appointment_ics(appointment, *, cancelled=False, now=None):
    """The .ics file for one appointment as bytes (call inside the recipient's language)."""
    slot = appointment.slot
    clinic, service = slot.clinic, slot.service
    summary = _("%(service)s at %(clinic)s") % {"service": service.name, "clinic": clinic.name}
    description_lines = [
        _("Appointment for: %(name)s") % {"name": appointment.patient_name},
        _("Check-in code: %(code)s") % {"code": appointment.check_in_code},
        _("Clinic phone: %(phone)s") % {"phone": clinic.phone},
    ]
    if slot.practitioner_id:
        description_lines.append(_("Practitioner: %(name)s") % {"name": slot.practitioner})
    first, moves = _first_of_chain(appointment)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:{_uid(first.pk)}",
        f"SEQUENCE:{moves + (1 if cancelled else 0)}",
        f"DTSTAMP:{format_utc(now or timezone.now())}",
        f"DTSTART:{format_utc(appointment.start)}",
        f"DTEND:{format_utc(appointment.end)}",
        f"SUMMARY:{escape_text(summary)}",
        f"LOCATION:{escape_text(f'{clinic.name}, {clinic.address}')}",
        f"GEO:{float(clinic.latitude):.6f};{float(clinic.longitude):.6f}",
        f"DESCRIPTION:{escape_text(chr(10).join(str(line) for line in description_lines))}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if not cancelled:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(summary)}",
            "TRIGGER:-PT1H",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")


def ics_filename(appointment):
    return f"appointment-{appointment.pk}.ics"
