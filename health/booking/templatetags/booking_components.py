"""Booking's objects as the portal's page components: `{% load booking_components %}`.

{% appointment_list appointments|appointment_entries empty=text %}
{% status_tag appointment.get_status_display appointment.status|appointment_tone %}
"""

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.components import AppointmentEntry
from portal.dates import format_when

from ..models import Appointment, AppointmentStatus

register = template.Library()

# The tag's colour per status; the label (the status's own name) says it without colour.
STATUS_TONES = {
    AppointmentStatus.BOOKED: "info",
    AppointmentStatus.CHECKED_IN: "success",
    AppointmentStatus.COMPLETED: "neutral",
    AppointmentStatus.CANCELLED: "warning",
    AppointmentStatus.NO_SHOW: "warning",
}


@register.filter
def appointment_tone(status):
    return STATUS_TONES.get(status, "neutral")


def appointment_entry(appointment, moved_to=None):
    """An appointment (with its slot's clinic and service and its dependant loaded) as a row.
    `moved_to` is the appointment it was rescheduled to, if it was: the row then says so and
    links to it instead of calling it cancelled."""
    status = {
        "status": appointment.get_status_display(),
        "tone": appointment_tone(appointment.status),
    }
    if moved_to is not None:
        when = format_when(moved_to.start, "short_weekday_datetime")
        status = {
            "status": _("Moved"),
            "tone": "neutral",
            "note": _("Moved to %(when)s") % {"when": when},
            "note_url": reverse("booking:appointment", args=[moved_to.pk]),
        }
    return AppointmentEntry(
        start=appointment.start,
        url=reverse("booking:appointment", args=[appointment.pk]),
        title=appointment.slot.service.name,
        place=appointment.slot.clinic.name,
        person=appointment.dependant.name if appointment.dependant_id else "",
        **status,
    )


def moved_to_of(appointments):
    """{appointment id: the appointment it was moved to} for the cancelled ones among these
    that were rescheduled: one query for the whole list."""
    cancelled = [a.pk for a in appointments if a.status == AppointmentStatus.CANCELLED]
    if not cancelled:
        return {}
    return {
        new.rescheduled_from_id: new
        for new in Appointment.objects.filter(rescheduled_from__in=cancelled).only(
            "pk", "start", "rescheduled_from"
        )
    }


@register.filter
def appointment_entries(appointments):
    appointments = list(appointments)
    moved = moved_to_of(appointments)
    return [appointment_entry(a, moved.get(a.pk)) for a in appointments]
