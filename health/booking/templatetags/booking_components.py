"""Booking's objects as the portal's page components: `{% load booking_components %}`.

{% appointment_list appointments|appointment_entries empty=text %}
{% status_tag appointment.get_status_display appointment.status|appointment_tone %}
"""

from django import template
from django.urls import reverse

from portal.components import AppointmentEntry

from ..models import AppointmentStatus

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


def appointment_entry(appointment):
    """An appointment (with its slot's clinic and service and its dependant loaded) as a row."""
    return AppointmentEntry(
        start=appointment.start,
        url=reverse("booking:appointment", args=[appointment.pk]),
        title=appointment.slot.service.name,
        place=appointment.slot.clinic.name,
        person=appointment.dependant.name if appointment.dependant_id else "",
        status=appointment.get_status_display(),
        tone=appointment_tone(appointment.status),
    )


@register.filter
def appointment_entries(appointments):
    return [appointment_entry(appointment) for appointment in appointments]
