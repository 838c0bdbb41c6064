"""Booking's Schedule, Slot, Appointment and clinic Locations in the FHIR API, read-only.

Clinic booking keeps its own tables (capacity is a transactional invariant), so these
resources are not rows of the store: `health.booking.fhir` computes them on read, and this
module is the one place the API delegates to it. What it adds is the API's part: the same
access rules as the store, `patient=` resolved through `records.PatientLink`, and results
shaped like stored resources so views.py bundles and audits them the way it does the store's.

- Appointment, Slot, Schedule: every id is booking's; read and search-type only.
- Location stays a store type (imported records hold Locations); only booking's clinic ids
  (`Location/booking-clinic-N`, which Appointments and Schedules reference) are read here.
- Writes, history and vread on these are a 405: bookings change through booking's rules.
- Booking searches are not paged (no `_offset`); `total` is given only when the page holds
  every match, i.e. when fewer than `_count` came back.
"""

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from health.booking import fhir as booking_fhir

from .access import RESIDENT
from .errors import FhirError, NotFound
from .search import _parse_int, default_count
from .store import dumps

# `booking.fhir.search` answers at most this many resources per search.
MAX_COUNT = 500
TYPES = frozenset(booking_fhir.SUPPORTED)
# The kind of each search parameter, for the CapabilityStatement; `_count` is server-wide.
PARAM_KINDS = {
    "date": "date",
    "start": "date",
    "status": "token",
    "service-type": "token",
    "active": "token",
    "slot": "reference",
    "schedule": "reference",
    "actor": "reference",
    "patient": "reference",
}
_IGNORED = {"_format", "_pretty"}


@dataclass
class Projected:
    """A booking resource, with the attributes views.py uses of a stored Resource."""

    data: dict

    @property
    def resource_type(self):
        return self.data["resourceType"]

    @property
    def resource_id(self):
        return self.data["id"]

    @cached_property
    def body(self):
        return dumps(self.data)

    @property
    def patient_id(self):
        """The Patient the Appointment is for, when the booker's account is linked to one."""
        for participant in self.data.get("participant", []):
            reference = participant.get("actor", {}).get("reference", "")
            if reference.startswith("Patient/"):
                return reference.removeprefix("Patient/")
        return ""


def is_projected(resource_type, resource_id=None):
    """Whether the API answers this type (or this one resource) from booking."""
    if resource_type in TYPES:
        return True
    return (
        resource_type == "Location"
        and resource_id is not None
        and resource_id.startswith(booking_fhir.PREFIX)
    )


def read_only(resource_type, expression=None):
    return FhirError(
        405,
        f"{resource_type} resources of clinic booking are read-only here: "
        "only read and search are supported",
        code="not-supported",
        expression=expression,
    )


def capability_entries():
    """CapabilityStatement.rest.resource entries for the booking types."""
    entries = []
    for resource_type in sorted(TYPES):
        names = sorted(booking_fhir.SUPPORTED[resource_type] - {"_count"})
        if resource_type == "Appointment":
            names = sorted([*names, "patient"])
        entries.append(
            {
                "type": resource_type,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": name, "type": PARAM_KINDS[name]} for name in names],
            }
        )
    return entries


# -- access -------------------------------------------------------------------------------------


@dataclass
class _Scope:
    """Whose bookings a request may see: `residents` None means everybody's, [] nobody's;
    `patients`, when set, the Patient ids an Appointment's subject must be one of."""

    residents: list | None = None
    patients: set | None = None


def _linked_users(patient_ids):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(patient_links__patient_id__in=patient_ids)
    return list(users.distinct().order_by("pk"))


def _scope(requester, resource_type, permission, patient_ids=None):
    limit = requester.compartment(resource_type, permission)  # Forbidden without a scope
    if resource_type != "Appointment":
        # Not patient data, so in no compartment: like the store's Locations, only
        # requesters without a patient limit see them.
        return _Scope() if limit is None else _Scope(residents=[])
    if requester.kind == RESIDENT:
        # Their own bookings (and their household's), linked to a Patient or not.
        scope = _Scope(residents=[requester.user])
    elif limit is None:
        scope = _Scope()
    else:
        scope = _Scope(residents=_linked_users(limit), patients=set(limit))
    if patient_ids is not None:
        linked = _linked_users(patient_ids)
        scope.residents = (
            linked if scope.residents is None else [u for u in scope.residents if u in linked]
        )
        scope.patients = (
            set(patient_ids) if scope.patients is None else scope.patients & set(patient_ids)
        )
    return scope


def _patient_reference(preferred=None):
    """booking.fhir's `patient_reference`: the booker's linked Patient (preferring one of
    `preferred`), for appointments that are not for a household member."""
    from health.records.models import PatientLink

    cache = {}

    def reference(appointment):
        if appointment.dependant_id:
            return None
        user_id = appointment.resident_id
        if user_id not in cache:
            ids = list(
                PatientLink.objects.filter(user_id=user_id)
                .order_by("pk")
                .values_list("patient_id", flat=True)
            )
            cache[user_id] = ([i for i in ids if i in (preferred or ())] or ids or [None])[0]
        patient_id = cache[user_id]
        if patient_id is None:
            return None
        return {"reference": f"Patient/{patient_id}", "display": appointment.patient_name}

    return reference


def _visible(found, scope):
    return [p for p in found if scope.patients is None or p.patient_id in scope.patients]


# -- read and search ----------------------------------------------------------------------------


def read(resource_type, resource_id, requester):
    """One booking resource as a Projected; NotFound when absent or not visible (the same
    answer, so a resident cannot tell another resident's appointment exists)."""
    scope = _scope(requester, resource_type, "r")
    reference = _patient_reference(scope.patients)
    for resident in [None] if scope.residents is None else scope.residents:
        data = booking_fhir.read(
            resource_type, resource_id, resident=resident, patient_reference=reference
        )
        found = _visible([Projected(data)], scope) if data else []
        if found:
            return found[0]
    raise NotFound(f"{resource_type}/{resource_id} is not known")


def _patient_param(values):
    """`patient=` values (repeats AND, commas OR) as a set of Patient ids."""
    wanted = None
    for value in values:
        ids = set()
        for item in value.split(","):
            kind, _, pid = item.rpartition("/")
            if kind not in ("", "Patient") or not pid:
                raise FhirError(400, f"patient must name a Patient: {value!r}", code="invalid")
            ids.add(pid)
        wanted = ids if wanted is None else wanted & ids
    return wanted


def search(resource_type, params, requester):
    """Search a booking type with [(name, value)] query parameters.

    Returns (matches, total, count): Projected resources in booking's order (by start), the
    total when the page holds every match (else None), and the page size asked for.
    """
    grouped = {}
    for name, value in params:
        if name not in _IGNORED:
            grouped.setdefault(name, []).append(value)
    count = default_count()
    if "_count" in grouped:
        count = _parse_int("_count", grouped["_count"][0], 0, MAX_COUNT)
    grouped["_count"] = [str(max(count, 1))]
    patient_ids = _patient_param(grouped.pop("patient")) if "patient" in grouped else None
    if patient_ids is not None and resource_type != "Appointment":
        raise FhirError(400, f"{resource_type} has no patient parameter", code="invalid")
    scope = _scope(requester, resource_type, "s", patient_ids)
    reference = _patient_reference(scope.patients)
    found = []
    try:
        for resident in [None] if scope.residents is None else scope.residents:
            found += booking_fhir.search(
                resource_type, grouped, resident=resident, patient_reference=reference
            )
    except booking_fhir.SearchError as error:
        raise FhirError(400, str(error), code="invalid") from None
    if len(scope.residents or ()) > 1:
        found.sort(key=lambda data: (data.get("start", ""), data["id"]))
    complete = len(found) < max(count, 1) or scope.residents == []
    matches = _visible([Projected(data) for data in found], scope)[:count]
    return matches, (len(matches) if complete else None), count


def self_link(url, params, count):
    """The searchset's self link (booking searches have one page: no first/next)."""
    kept = [(k, v) for k, v in params if k != "_count"]
    return {"relation": "self", "url": f"{url}?{urlencode([*kept, ('_count', str(count))])}"}
