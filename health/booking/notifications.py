"""What booking tells residents: confirmations (with the .ics and the QR image of the check-in
code), cancellations, waitlist offers, and the reminder the day before. Each message is a
kind declared in notification_kinds.py, put in the outbox in the caller's transaction."""

import io
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

import segno

from . import ics
from .conf import absolute_url, current_time, local_midnight, reminder_time
from .models import Appointment, AppointmentStatus


def send(user, kind, context, *, url="", appointment=None, cancelled=False):
    """Put a booking message (a kind in notification_kinds.py: "booked" is "booking.booked")
    in the outbox, in the caller's transaction. The kind decides the channels; the text is
    rendered in every language by portal.notifications."""
    from portal.notifications.services import Attachment, notify, recipient_language

    attachments = ()
    if appointment is not None:
        with recipient_language(user):
            attachments = (
                Attachment(
                    ics.ics_filename(appointment),
                    ics.appointment_ics(appointment, cancelled=cancelled),
                    ics.ICS_MIMETYPE,
                ),
            )
            if not cancelled:
                # The QR image of the check-in code, for the counter's scanner, offline.
                attachments += (
                    Attachment("check-in-code.png", qr_png(appointment.check_in_code), "image/png"),
                )
    # The outbox stores the portal path; the text carries the absolute link for e-mail.
    return notify(
        f"booking.{kind}",
        user,
        {"url": absolute_url(url), **context},
        about=appointment,
        url=url,
        attachments=attachments,
    )


def qr_png(code):
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def appointment_url(appointment):
    return reverse("booking:appointment", args=[appointment.pk])


def rebook_url(slot):
    return reverse("booking:clinic_days", args=[slot.clinic_id, slot.service.code])


def notify_booked(appointment):
    send(
        appointment.resident,
        "booked",
        {"appointment": appointment, "slot": appointment.slot},
        url=appointment_url(appointment),
        appointment=appointment,
    )


def send_reminders(*, now=None):
    """Remind everyone booked for tomorrow, once the configured time of day has come.

    Each reminder is claimed with a conditional UPDATE of reminder_sent_at in the same
    transaction that writes the outbox row, so running the task twice sends nothing twice.
    """
    now = current_time(now)
    local_now = timezone.localtime(now)
    if local_now.time() < reminder_time():
        return 0
    tomorrow = local_now.date() + timedelta(days=1)
    # Someone who books for tomorrow after today's reminder time has just had the
    # confirmation; a "reminder" minutes later would only be noise.
    reminder_moment = timezone.make_aware(datetime.combine(local_now.date(), reminder_time()))
    due = Appointment.objects.filter(
        status=AppointmentStatus.BOOKED,
        reminder_sent_at__isnull=True,
        booked_at__lt=reminder_moment,
        start__gte=local_midnight(tomorrow),
        start__lt=local_midnight(tomorrow + timedelta(days=1)),
    ).values_list("pk", flat=True)
    sent = 0
    for pk in list(due):
        with transaction.atomic():
            if not Appointment.objects.filter(pk=pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                continue
            appointment = Appointment.objects.select_related(
                "resident__profile",
                "dependant",
                "slot__clinic",
                "slot__service",
                "slot__practitioner",
            ).get(pk=pk)
            send(
                appointment.resident,
                "reminder",
                {"appointment": appointment, "slot": appointment.slot},
                url=appointment_url(appointment),
            )
            sent += 1
    return sent
