"""Clinic booking as FHIR R4 resources (read-only): Schedule, Slot, Appointment, Location.

Booking keeps its own relational tables (capacity is a transactional invariant), so these
resources are projections computed on read, never stored in the FHIR store. Ids are
prefixed "booking-" so they cannot collide with resources the FHIR store holds.

- Location "booking-clinic-{clinic}"       one per clinic
- Schedule "booking-{clinic}-{service}"   one per clinic and service (its slots' container)
- Slot     "booking-{slot}"
- Appointment "booking-{appointment}"

`read()` and `search()` answer dicts ready to serialise; `BookingProjection` registers them
with the FHIR layer (health.fhir.projections, from apps.py), which brings the API's access
rules, audit and `patient=`. Pass `residents=` to limit appointments to those accounts, and
`patient_reference=` to name the Patient an account's visit belongs to. Date searches use
the FHIR layer's one date parser (`health.fhir.search.date_filter`), so `date=2026-05`,
`ne` and `ap` mean here what they mean for stored resources.
"""

import re
from datetime import UTC

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from health.fhir.errors import InvalidSearch
from health.fhir.projections import Projection
from health.fhir.search import check_value, date_filter

from . import conf, errors
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Clinic,
    ScheduleRule,
    Service,
    Slot,
    SlotStatus,
)

SERVICE_SYSTEM = f"{settings.PORTAL_BASE_URL}/fhir/CodeSystem/clinic-service"
DEPENDANT_SYSTEM = f"{settings.PORTAL_BASE_URL}/fhir/NamingSystem/household-member"
RESIDENT_SYSTEM = f"{settings.PORTAL_BASE_URL}/fhir/NamingSystem/resident"
PREFIX = "booking-"

APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
APPOINTMENT_STATUS_FROM_FHIR = {v: k for k, v in APPOINTMENT_STATUS.items()}
SLOT_STATUSES = {"free", "busy", "busy-unavailable"}
# FHIR's days-of-week codes: language-independent, unlike the weekday names of the interface.
FHIR_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# A search the projection cannot answer; the API answers it with a 400 OperationOutcome.
SearchError = InvalidSearch


def instant(value):
    """FHIR instant/dateTime in UTC with seconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _service_concept(service):
    return [
        {
            "coding": [
                {"system": SERVICE_SYSTEM, "code": service.code, "display": service.name_en}
            ],
            "text": service.name,
        }
    ]


def _clinic_reference(clinic):
    return {"reference": f"Location/{PREFIX}clinic-{clinic.pk}", "display": clinic.name}


def schedule_id(clinic_id, service_id):
    return f"{PREFIX}{clinic_id}-{service_id}"


def location_resource(clinic):
    """The clinic as a FHIR Location."""
    resource = {
        "resourceType": "Location",
        "id": f"{PREFIX}clinic-{clinic.pk}",
        "status": "active" if clinic.is_active else "inactive",
        "name": clinic.name,
        "telecom": [{"system": "phone", "value": clinic.phone, "use": "work"}],
        "address": {"text": clinic.address},
        "position": {"latitude": float(clinic.latitude), "longitude": float(clinic.longitude)},
    }
    aliases = sorted({clinic.name_zh_hant, clinic.name_zh_hans, clinic.name_en} - {clinic.name, ""})
    if aliases:
        resource["alias"] = aliases
    if clinic.opening_hours:
        resource["description"] = clinic.opening_hours
    return resource


def schedule_resource(clinic, service, *, rules=None, now=None):
    """The bookable schedule of one service at one clinic, with its weekly hours as a comment
    and the booking horizon as the planning horizon."""
    now = now or timezone.now()
    if rules is None:
        rules = ScheduleRule.objects.filter(clinic=clinic, service=service, is_active=True)
    hours = "; ".join(
        f"{FHIR_DAYS[rule.weekday]} {rule.start_time:%H:%M}-{rule.end_time:%H:%M}" for rule in rules
    )
    resource = {
        "resourceType": "Schedule",
        "id": schedule_id(clinic.pk, service.pk),
        "active": bool(clinic.is_active and service.is_active),
        "serviceType": _service_concept(service),
        "actor": [_clinic_reference(clinic)],
        "planningHorizon": {
            "start": instant(now),
            "end": instant(conf.horizon_end(now)),
        },
    }
    if hours:
        resource["comment"] = hours
    return resource


def slot_fhir_status(slot):
    if slot.status != SlotStatus.OPEN:
        return "busy-unavailable"
    return "free" if slot.booked + slot.held < slot.capacity else "busy"


def slot_resource(slot):
    """One slot; `slot.clinic` and `slot.service` should be select_related."""
    resource = {
        "resourceType": "Slot",
        "id": f"{PREFIX}{slot.pk}",
        "schedule": {"reference": f"Schedule/{schedule_id(slot.clinic_id, slot.service_id)}"},
        "serviceType": _service_concept(slot.service),
        "status": slot_fhir_status(slot),
        "start": instant(slot.start),
        "end": instant(slot.end),
        "overbooked": False,
        "comment": f"{slot.booked} of {slot.capacity} places booked",
    }
    if slot.status != SlotStatus.OPEN and slot.closed_reason:
        resource["comment"] = slot.closed_reason
    return resource


def _patient_actor(appointment, patient_reference):
    reference = patient_reference(appointment) if patient_reference else None
    if reference:
        return reference
    if appointment.dependant_id:
        identifier = {"system": DEPENDANT_SYSTEM, "value": str(appointment.dependant_id)}
    else:
        identifier = {"system": RESIDENT_SYSTEM, "value": str(appointment.resident_id)}
    return {"identifier": identifier, "display": appointment.patient_name}


def appointment_resource(appointment, *, patient_reference=None):
    """One appointment. `patient_reference(appointment)` may return {"reference": "Patient/x",
    "display": ...} once health records link the person to a Patient; otherwise the patient is
    named by a portal identifier."""
    slot = appointment.slot
    fhir_status = APPOINTMENT_STATUS[appointment.status]
    participant_status = "declined" if fhir_status in {"cancelled", "noshow"} else "accepted"
    resource = {
        "resourceType": "Appointment",
        "id": f"{PREFIX}{appointment.pk}",
        "status": fhir_status,
        "serviceType": _service_concept(slot.service),
        "start": instant(appointment.start),
        "end": instant(appointment.end),
        "minutesDuration": int((appointment.end - appointment.start).total_seconds() // 60),
        "slot": [{"reference": f"Slot/{PREFIX}{slot.pk}"}],
        "created": instant(appointment.booked_at),
        "participant": [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "SBJ",
                                "display": "subject",
                            }
                        ]
                    }
                ],
                "actor": _patient_actor(appointment, patient_reference),
                "required": "required",
                "status": participant_status,
            },
            {"actor": _clinic_reference(slot.clinic), "required": "required", "status": "accepted"},
        ],
    }
    if slot.practitioner_id:
        resource["participant"].append(
            {
                "actor": {"display": str(slot.practitioner)},
                "required": "information-only",
                "status": "accepted",
            }
        )
    if appointment.status == AppointmentStatus.CANCELLED and appointment.cancel_reason:
        resource["cancelationReason"] = {"text": appointment.cancel_reason}
    return resource


ENCOUNTER_IDENTIFIER_SYSTEM = f"{settings.PORTAL_BASE_URL}/fhir/NamingSystem/booking-appointment"


def encounter_resource(appointment, *, patient_id):
    """The finished visit of a completed appointment as an Encounter for the patient's record."""
    slot = appointment.slot
    resource = {
        "resourceType": "Encounter",
        "identifier": [
            {"system": ENCOUNTER_IDENTIFIER_SYSTEM, "value": f"{PREFIX}{appointment.pk}"}
        ],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "serviceType": _service_concept(slot.service)[0],
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {
            "start": instant(appointment.checked_in_at or appointment.start),
            "end": instant(appointment.finished_at or appointment.end),
        },
        "location": [{"location": {"display": slot.clinic.name}}],
    }
    if slot.practitioner_id:
        resource["participant"] = [{"individual": {"display": str(slot.practitioner)}}]
    return resource


def booking_error_outcome(error):
    """(HTTP status, OperationOutcome) for a refused booking made through an API: the rule's
    message in the active language; 409 for conflicts with the slot's or person's state."""
    conflicts = (
        errors.SlotFull,
        errors.SlotClosed,
        errors.Overlapping,
        errors.TooManyUpcoming,
        errors.AlreadyWaiting,
        errors.OfferNotOpen,
        errors.CutoffPassed,
        errors.NotActive,
    )
    if isinstance(error, errors.SlotNotFound):
        status, code = 404, "not-found"
    elif isinstance(error, conflicts):
        status, code = 409, "conflict"
    else:
        status, code = 422, "business-rule"
    return status, {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "details": {"coding": [{"code": error.code}], "text": str(error)},
                "diagnostics": str(error),
            }
        ],
    }


# Read and search --------------------------------------------------------------------------------
_ID = re.compile(rf"^{PREFIX}(\d{{1,18}})$")
_SCHEDULE_ID = re.compile(rf"^{PREFIX}(\d{{1,18}})-(\d{{1,18}})$")
_LOCATION_ID = re.compile(rf"^{PREFIX}clinic-(\d{{1,18}})$")


def _appointments(resident=None, residents=None):
    queryset = Appointment.objects.select_related(
        "slot__clinic", "slot__service", "slot__practitioner", "dependant", "resident__profile"
    )
    if resident is not None:
        queryset = queryset.filter(resident=resident)
    if residents is not None:
        queryset = queryset.filter(resident__in=residents)
    return queryset


def read(resource_type, resource_id, *, resident=None, residents=None, patient_reference=None):
    """One resource by id, or None (unknown id, or not one of the residents' appointments)."""
    if resource_type == "Location" and (match := _LOCATION_ID.match(resource_id)):
        clinic = Clinic.objects.filter(pk=match[1]).first()
        return location_resource(clinic) if clinic else None
    if resource_type == "Schedule" and (match := _SCHEDULE_ID.match(resource_id)):
        clinic = Clinic.objects.filter(pk=match[1]).first()
        service = Service.objects.filter(pk=match[2]).first()
        if clinic is None or service is None or not clinic.services.filter(pk=service.pk).exists():
            return None
        return schedule_resource(clinic, service)
    match = _ID.match(resource_id or "")
    if match is None:
        return None
    if resource_type == "Slot":
        slot = Slot.objects.select_related("clinic", "service").filter(pk=match[1]).first()
        return slot_resource(slot) if slot else None
    if resource_type == "Appointment":
        appointment = _appointments(resident, residents).filter(pk=match[1]).first()
        return (
            appointment_resource(appointment, patient_reference=patient_reference)
            if appointment
            else None
        )
    return None


def _split(values):
    return [item for value in values for item in value.split(",") if item]


def _count(params, default=50, ceiling=500):
    try:
        return max(1, min(int((params.get("_count") or [default])[0]), ceiling))
    except ValueError:
        raise SearchError("_count must be a number") from None


SUPPORTED = {
    "Appointment": {"date", "status", "service-type", "slot", "_count"},
    "Slot": {"start", "status", "service-type", "schedule", "_count"},
    "Schedule": {"actor", "service-type", "active", "_count"},
}
# The FHIR search kind of each parameter, for the CapabilityStatement.
PARAM_KINDS = {
    "date": "date",
    "start": "date",
    "status": "token",
    "service-type": "token",
    "active": "token",
    "slot": "reference",
    "schedule": "reference",
    "actor": "reference",
}


def search(resource_type, params, *, resident=None, residents=None, patient_reference=None):
    """Search one booking resource type. `params` maps names to lists of values (the query
    string); the caller resolves `patient=` into `residents=` (its compartment rule). Raises
    SearchError for unknown parameters or bad values. Returns a list of resource dicts."""
    params = {k: v for k, v in params.items() if k not in {"patient", "_format"}}
    unknown = set(params) - SUPPORTED.get(resource_type, set())
    if resource_type not in SUPPORTED:
        raise SearchError(f"{resource_type} is not a booking resource")
    if unknown:
        raise SearchError(f"Unsupported search parameters: {', '.join(sorted(unknown))}")
    for name, values in params.items():
        for value in values:
            check_value(name, value)
    limit = _count(params)
    service_codes = _split(params.get("service-type", []))
    service_codes = [code.split("|")[-1] for code in service_codes]
    if resource_type == "Appointment":
        queryset = _appointments(resident, residents)
        if "date" in params:
            queryset = queryset.filter(date_filter("date", params["date"], "start"))
        if "status" in params:
            codes = _split(params["status"])
            if any(code not in APPOINTMENT_STATUS_FROM_FHIR for code in codes):
                raise SearchError("Unknown appointment status")
            queryset = queryset.filter(status__in=[APPOINTMENT_STATUS_FROM_FHIR[c] for c in codes])
        if service_codes:
            queryset = queryset.filter(slot__service__code__in=service_codes)
        if "slot" in params:
            ids = [_ID.match(ref.split("/")[-1]) for ref in _split(params["slot"])]
            queryset = queryset.filter(slot_id__in=[m[1] for m in ids if m])
        return [
            appointment_resource(a, patient_reference=patient_reference)
            for a in queryset.order_by("start", "pk")[:limit]
        ]
    if resource_type == "Slot":
        queryset = Slot.objects.select_related("clinic", "service")
        if "start" in params:
            queryset = queryset.filter(date_filter("start", params["start"], "start"))
        if service_codes:
            queryset = queryset.filter(service__code__in=service_codes)
        if "schedule" in params:
            matches = [_SCHEDULE_ID.match(ref.split("/")[-1]) for ref in _split(params["schedule"])]
            pairs = [(m[1], m[2]) for m in matches if m]
            if not pairs:
                return []
            clinic_id, service_id = pairs[0]
            queryset = queryset.filter(clinic_id=clinic_id, service_id=service_id)
        if "status" in params:
            wanted = set(_split(params["status"]))
            if wanted - SLOT_STATUSES:
                raise SearchError("Unknown slot status")
            free = F("capacity") - F("held")
            condition = Q(pk__in=[])
            if "free" in wanted:
                condition |= Q(status=SlotStatus.OPEN, booked__lt=free)
            if "busy" in wanted:
                condition |= Q(status=SlotStatus.OPEN, booked__gte=free)
            if "busy-unavailable" in wanted:
                condition |= ~Q(status=SlotStatus.OPEN)
            queryset = queryset.filter(condition)
        return [slot_resource(s) for s in queryset.order_by("start", "pk")[:limit]]
    # Schedule: one per clinic and service offered.
    clinics = Clinic.objects.prefetch_related("services")
    if "actor" in params:
        matches = [_LOCATION_ID.match(ref.split("/")[-1]) for ref in _split(params["actor"])]
        clinics = clinics.filter(pk__in=[m[1] for m in matches if m])
    results = []
    rules = {}
    for rule in ScheduleRule.objects.filter(is_active=True).order_by("weekday", "start_time"):
        rules.setdefault((rule.clinic_id, rule.service_id), []).append(rule)
    for clinic in clinics:
        for service in clinic.services.all():
            if service_codes and service.code not in service_codes:
                continue
            resource = schedule_resource(
                clinic, service, rules=rules.get((clinic.pk, service.pk), [])
            )
            if (
                "active" in params
                and str(resource["active"]).lower() != params["active"][0].lower()
            ):
                continue
            results.append(resource)
    return results[:limit]


class BookingProjection(Projection):
    """Booking's Schedule, Slot, Appointment and clinic Locations in the /fhir/ API
    (registered in apps.py). Appointments belong to the booker's record: the booker's
    linked Patient is their subject; a household member's have none."""

    search_params = {
        resource_type: {name: PARAM_KINDS[name] for name in names - {"_count"}}
        for resource_type, names in SUPPORTED.items()
    }
    compartment_types = frozenset({"Appointment"})

    def owns(self, resource_type, resource_id=None):
        if resource_type in self.types:
            return True
        return (
            resource_type == "Location"
            and resource_id is not None
            and resource_id.startswith(f"{PREFIX}clinic-")
        )

    @staticmethod
    def _reference(access):
        def reference(appointment):
            if appointment.dependant_id:
                return None
            patient_id = access.patient_of(appointment.resident_id)
            if patient_id is None:
                return None
            return {"reference": f"Patient/{patient_id}", "display": appointment.patient_name}

        return reference

    def read(self, resource_type, resource_id, access):
        return read(
            resource_type,
            resource_id,
            residents=access.accounts,
            patient_reference=self._reference(access),
        )

    def search(self, resource_type, params, access, count):
        return search(
            resource_type,
            {**params, "_count": [str(count)]},
            residents=access.accounts,
            patient_reference=self._reference(access),
        )


def active_statuses():
    return [APPOINTMENT_STATUS[s] for s in ACTIVE_STATUSES]
