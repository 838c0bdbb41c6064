"""Clinic booking's part of "download all my data": household, appointments, waitlists."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import (
    WAITLIST_OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Dependant,
    WaitlistEntry,
)


def _slot(slot):
    return {
        "clinic": slot.clinic.name_en,
        "service": slot.service.name_en,
        "start": slot.start,
        "end": slot.end,
    }


@register_export_part("appointments", _("Clinic appointments, household and waitlists"), order=40)
def export_booking(user, archive):
    household = Dependant.objects.filter(owner=user).order_by("pk")
    appointments = (
        Appointment.objects.filter(resident=user)
        .select_related("slot__clinic", "slot__service", "dependant")
        .order_by("start", "pk")
    )
    waitlists = (
        WaitlistEntry.objects.filter(resident=user)
        .select_related("slot__clinic", "slot__service", "dependant")
        .order_by("created_at", "pk")
    )
    archive.write_json(
        "appointments/appointments.json",
        {
            "household": [
                {
                    "name": d.name,
                    "date_of_birth": d.date_of_birth,
                    "relationship": d.relationship,
                    "removed": not d.is_active,
                }
                for d in household
            ],
            "appointments": [
                {
                    **_slot(a.slot),
                    "for": a.dependant.name if a.dependant_id else "me",
                    "status": a.status,
                    "booked_at": a.booked_at,
                    "cancelled_at": a.cancelled_at,
                    "cancel_reason": a.cancel_reason,
                    "checked_in_at": a.checked_in_at,
                    "check_in_code": a.check_in_code,
                }
                for a in appointments
            ],
            "waitlist_places": [
                {
                    **_slot(w.slot),
                    "for": w.dependant.name if w.dependant_id else "me",
                    "status": w.status,
                    "joined": w.created_at,
                    "offer_open_until": w.offer_expires_at,
                }
                for w in waitlists
            ],
        },
    )


@register_closure_rule("appointments", order=40)
class BookingOnClosure:
    """Upcoming appointments are cancelled through booking's own cancel rule, so the usual
    waitlist offers go out; waitlist places are given up the same way. Past appointments stay
    with the clinic."""

    def _upcoming(self, user, now):
        return Appointment.objects.filter(
            resident=user, status=AppointmentStatus.BOOKED, start__gt=now
        ).select_related("slot")

    def describe(self, user):
        from django.utils import timezone
        from django.utils.translation import ngettext

        count = self._upcoming(user, timezone.now()).count()
        if not count:
            return []
        return [
            ngettext(
                "Your upcoming clinic appointment is cancelled, and its place is offered to "
                "the people waiting for it.",
                "Your %(count)s upcoming clinic appointments are cancelled, and their places "
                "are offered to the people waiting for them.",
                count,
            )
            % {"count": count}
        ]

    def apply(self, user, now):
        from .rules import cancel
        from .waitlists import leave_waitlist

        for appointment in self._upcoming(user, now):
            cancel(
                appointment,
                by=user,
                reason="account closed",
                now=now,
                enforce_cutoff=False,
                step="account_closed",  # no notice: their inbox is being erased
            )
        for entry_id in WaitlistEntry.objects.filter(
            resident=user, status__in=WAITLIST_OPEN_STATUSES
        ).values_list("pk", flat=True):
            leave_waitlist(user, entry_id, now=now)
