"""Read-only queries: free times and clinics for residents, their appointments, the clinic's
day list, a resident's data export. Each is a bounded number of queries."""

from datetime import timedelta

from django.db.models import Count, F, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal import scoping

from .conf import current_time, horizon_days, horizon_end, local_midnight
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Clinic,
    Dependant,
    Slot,
    SlotStatus,
    WaitlistEntry,
)


def free_slots(now=None):
    """Open slots with a free place, inside the booking window."""
    now = current_time(now)
    return Slot.objects.filter(
        status=SlotStatus.OPEN,
        start__gt=now,
        start__lt=horizon_end(now),
        booked__lt=F("capacity") - F("held"),
    )


def home_point(user):
    profile = getattr(user, "profile", None)
    community = profile.community if profile is not None else None
    if community is None:
        return None
    return community.latitude, community.longitude


def clinics_for_service(service, user, *, now=None, order="distance"):
    """Clinics offering a service, each with its distance from the resident's home community
    and its next free slot; nearest first (or soonest first with order="soonest").
    Two queries whatever the number of clinics or slots."""
    now = current_time(now)
    clinics = list(
        Clinic.objects.filter(is_active=True, services=service).select_related("community")
    )
    next_free = dict(
        free_slots(now)
        .filter(service=service, clinic__in=[c.pk for c in clinics])
        .values("clinic")
        .annotate(first=Min("start"))
        .values_list("clinic", "first")
    )
    point = home_point(user)
    results = []
    for clinic in clinics:
        distance = clinic.distance_km(*point) if point else None
        results.append(
            {"clinic": clinic, "distance_km": distance, "next_free": next_free.get(clinic.pk)}
        )
    far = float("inf")
    never = now + timedelta(days=36500)

    def by_distance(item):
        return (
            item["distance_km"] if item["distance_km"] is not None else far,
            item["next_free"] or never,
        )

    def by_soonest(item):
        return (
            item["next_free"] or never,
            item["distance_km"] if item["distance_km"] is not None else far,
        )

    results.sort(key=by_soonest if order == "soonest" else by_distance)
    return results


def calendar_days(clinic, service, *, now=None):
    """Every day in the booking window as `(day, free times, open)`, in one query: `open` says
    whether the clinic still has open times for the service that day (free or full). On the
    other days it is closed: no times planned (weekends, when the schedule has none), a
    closure (holidays), or every time closed or already past."""
    now = current_time(now)
    rows = (
        Slot.objects.filter(
            clinic=clinic,
            service=service,
            status=SlotStatus.OPEN,
            start__gt=now,
            start__lt=horizon_end(now),
        )
        .annotate(day=TruncDate("start", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(free=Count("pk", filter=Q(booked__lt=F("capacity") - F("held"))))
        .values_list("day", "free")
    )
    counts = dict(rows)
    today = timezone.localdate(now)
    days = [today + timedelta(days=i) for i in range(horizon_days() + 1)]
    return [(day, counts.get(day, 0), day in counts) for day in days]


def bookable_days(clinic, service, *, now=None):
    """Every day in the booking window with how many free places it has (0 = full/closed)."""
    return [(day, free) for day, free, _open in calendar_days(clinic, service, now=now)]


def day_slots(clinic, service, day, *, now=None):
    """All future slots of one day at a clinic for a service, full and closed ones included
    (so the resident can join a waitlist)."""
    now = current_time(now)
    return list(
        Slot.objects.select_related("practitioner")
        .filter(
            clinic=clinic,
            service=service,
            start__gte=max(local_midnight(day), now),
            start__lt=min(local_midnight(day + timedelta(days=1)), horizon_end(now)),
        )
        .order_by("start", "pk")
    )


def upcoming_for(user, *, now=None):
    """The resident's active appointments that have not ended, soonest first."""
    now = current_time(now)
    return (
        Appointment.objects.select_related(
            "slot__clinic", "slot__service", "slot__practitioner", "dependant"
        )
        .filter(resident=user, status__in=ACTIVE_STATUSES, end__gt=now)
        .order_by("start", "pk")
    )


def past_for(user, *, now=None):
    now = current_time(now)
    return (
        Appointment.objects.select_related("slot__clinic", "slot__service", "dependant")
        .filter(resident=user)
        .filter(Q(end__lte=now) | ~Q(status__in=ACTIVE_STATUSES))
        .order_by("-start", "-pk")
    )


def day_list(clinic, day, *, service=None):
    """Appointments of one clinic day (optionally one service) and counts per status."""
    appointments = (
        Appointment.objects.select_related(
            "slot__service", "slot__practitioner", "resident__profile", "dependant"
        )
        .filter(
            slot__clinic=clinic,
            start__gte=local_midnight(day),
            start__lt=local_midnight(day + timedelta(days=1)),
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("start", "pk")
    )
    if service is not None:
        appointments = appointments.filter(slot__service=service)
    appointments = list(appointments)
    counts = {
        status: 0
        for status, _label in AppointmentStatus.choices
        if status != AppointmentStatus.CANCELLED
    }
    for appointment in appointments:
        counts[appointment.status] += 1
    return appointments, counts


def export_resident_data(user):
    """Everything booking holds about a resident, JSON-ready, for their data download."""
    appointments = (
        Appointment.objects.select_related("slot__clinic", "slot__service", "dependant")
        .filter(resident=user)
        .order_by("start", "pk")
    )
    return {
        "household": [
            {
                "name": d.name,
                "date_of_birth": d.date_of_birth.isoformat(),
                "relationship": d.relationship,
                "active": d.is_active,
            }
            for d in Dependant.objects.filter(owner=user).order_by("pk")
        ],
        "appointments": [
            {
                "clinic": a.slot.clinic.name_en,
                "service": a.slot.service.code,
                "for": a.dependant.name if a.dependant_id else None,
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "status": a.status,
                "check_in_code": a.check_in_code,
                "booked_at": a.booked_at.isoformat(),
                "cancelled_at": a.cancelled_at.isoformat() if a.cancelled_at else None,
                "cancel_reason": a.cancel_reason,
            }
            for a in appointments
        ],
        "waitlist": [
            {
                "slot_start": e.slot.start.isoformat(),
                "clinic": e.slot.clinic.name_en,
                "status": e.status,
                "joined_at": e.created_at.isoformat(),
            }
            for e in WaitlistEntry.objects.select_related("slot__clinic").filter(resident=user)
        ],
    }


def dependants_of(user):
    return Dependant.objects.filter(owner=user, is_active=True)


def clinics_managed_by(user):
    """The clinics a staff member runs: all for superusers, else those they are staff of."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    # The clinics whose appointments the staff scope gives them (portal.scoping).
    units = scoping.units(user, Appointment)
    return Clinic.objects.all() if units is None else units
