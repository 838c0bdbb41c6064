"""How booking's models are scoped for staff (portal.scoping): clinic staff work on the objects
of the clinics they are staff of; superusers on all. Registered in BookingConfig.ready().

Booking also answers part of "which patients may clinic staff open" (portal.scoping's PATIENTS
subjects, enforced by the FHIR layer): the Patients registered with their clinics
(`ClinicPatient`, written when one of the clinic's staff creates the Patient) and the Patients
linked to the accounts that booked an appointment of their own at their clinics (any status: a
clinic keeps the records of the people it has seen)."""

from health.fhir.models import PatientLink
from portal import scoping

from .models import (
    Appointment,
    Clinic,
    ClinicPatient,
    Closure,
    Practitioner,
    ScheduleRule,
    Slot,
    WaitlistEntry,
)


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


def clinic_patients(user):
    """The Patient ids the user's clinics know: registered there, or linked to an account
    that booked there for itself (not for a dependant: that is someone else's record)."""
    clinics = clinics_of(user)
    registered = ClinicPatient.objects.filter(clinic__in=clinics).values_list(
        "patient_id", flat=True
    )
    booked = PatientLink.objects.filter(
        user__in=Appointment.objects.filter(
            slot__clinic__in=clinics, dependant__isnull=True
        ).values("resident")
    ).values_list("patient_id", flat=True)
    return registered.union(booked)


def register_patients(user, patient_ids):
    """Register Patients a staff member has just created with each of their clinics."""
    ClinicPatient.objects.bulk_create(
        [
            ClinicPatient(clinic=clinic, patient_id=pid, registered_by=user)
            for clinic in clinics_of(user)
            for pid in patient_ids
        ],
        ignore_conflicts=True,
    )


def register():
    for model, path in PATHS.items():
        scoping.register(model, path=path, units=clinics_of)
    scoping.register_subjects(scoping.PATIENTS, clinic_patients, claim=register_patients)
