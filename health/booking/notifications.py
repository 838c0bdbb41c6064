"""What booking tells residents: confirmations (with the .ics and the QR image of the check-in
code), cancellations, waitlist offers, and the reminder the day before. Each message is a
kind declared in notification_kinds.py, put in the outbox in the caller's transaction."""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from . import ics
from .conf import absolute_url, current_time, local_midnight, reminder_time
from .models import Appointment, AppointmentStatus
from .notification_kinds import CHECK_IN_QR
from .places import person_name


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
                # The QR image of the check-in code, for the counter's scanner, offline: drawn
                # when the e-mail is sent (the code decides it), not while the resident waits.
                attachments += (
                    Attachment(
                        "check-in-code.png",
                        mimetype="image/png",
                        made_by=CHECK_IN_QR,
                        made_from=appointment.check_in_code,
                    ),
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


def _slot(change):
    return change.context.get("slot") or change.obj.slot


def _cancelled(change):
    appointment = change.obj
    send(
        appointment.resident,
        "cancelled",
        {"appointment": appointment, "slot": _slot(change)},
        url=rebook_url(_slot(change)),
        appointment=appointment,
        cancelled=True,
    )


def _closed(change):
    appointment = change.obj
    send(
        appointment.resident,
        "closed",
        {"appointment": appointment, "slot": _slot(change), "reason": change.reason},
        url=rebook_url(_slot(change)),
        appointment=appointment,
        cancelled=True,
    )


def _offer(change):
    entry = change.obj
    send(
        entry.resident,
        "offer",
        {
            "entry": entry,
            "slot": _slot(change),
            "name": person_name(entry.resident, entry.dependant),
        },
        url=reverse("booking:waitlist"),
    )


def _offer_expired(change):
    entry = change.obj
    send(
        entry.resident,
        "offer_expired",
        {"entry": entry, "slot": _slot(change)},
        url=rebook_url(_slot(change)),
    )


def _waitlist_closed(change):
    entry = change.obj
    send(
        entry.resident,
        "waitlist_closed",
        {
            "slot": _slot(change),
            "reason": change.reason,
            "name": person_name(entry.resident, entry.dependant),
        },
        url=rebook_url(_slot(change)),
    )


# The notification kind each workflow step names (workflows.py), and how it is written.
KINDS = {
    "booking.booked": lambda change: notify_booked(change.obj),
    "booking.cancelled": _cancelled,
    "booking.closed": _closed,
    "booking.offer": _offer,
    "booking.offer_expired": _offer_expired,
    "booking.waitlist_closed": _waitlist_closed,
}


def for_transition(change):
    """The workflow's notifier for appointments and waitlist places: sends the kind the step
    names, in the recipient's language, in the transition's transaction."""
    KINDS[change.step.notify](change)


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
