"""How booking's models are scoped for staff (portal.scoping): clinic staff work on the objects
of the clinics they are staff of; superusers on all. Registered in BookingConfig.ready()."""

from portal import scoping

from .models import Appointment, Clinic, Closure, Practitioner, ScheduleRule, Slot, WaitlistEntry


def clinics_of(user):
    """The clinics a staff member is staff of."""
    return Clinic.objects.filter(staff=user)


# Each model, and the path from it to its clinic.
PATHS = {
    Clinic: "pk",
    Practitioner: "clinic",
    ScheduleRule: "clinic",
    Closure: "clinic",
    Slot: "clinic",
    Appointment: "slot__clinic",
    WaitlistEntry: "slot__clinic",
}


def register():
    for model, path in PATHS.items():
        scoping.register(model, path=path, units=clinics_of)
