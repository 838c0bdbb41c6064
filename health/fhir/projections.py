"""Read-only FHIR resources that other apps compute from their own tables (projections).

An app whose data is published as FHIR but kept in its own relational tables (clinic
booking: capacity is a transactional invariant) registers a `Projection` here, from its own
module (`register(projection)` in its AppConfig.ready). The FHIR layer never imports those
apps; this module adds what the API owes every resource, whoever computes it:

- the store's access rules: scopes, patient compartments, accounts linked to Patients
  (links.py), passed to the app as a `ProjectionAccess`, and the store's 404 for anything
  outside them, so a resource outside the requester's reach looks like a missing one;
- `patient=` on the types in a patient compartment, resolved to the linked accounts;
- the store's date-search rules (search.date_filter), `_count`, NUL and parameter checks;
- the audit trail, as for stored resources;
- a CapabilityStatement entry generated from what the projection declares.

Interactions: read and search-type only (also inside batch/transaction Bundles). Writes,
history and vread answer 405 with an OperationOutcome. Projected searches are not paged (no
`_offset`); `total` is given only when the page holds every match.
"""

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from .access import RESIDENT
from .errors import FhirError, NotFound
from .links import linked_users, patient_ids_by_user
from .search import _parse_int, check_value, default_count
from .wire import dumps

# A projection answers at most this many resources per search.
MAX_COUNT = 500
# Result parameters that change nothing in a projected search's answer.
_IGNORED = {"_format", "_pretty"}


class Projection:
    """What an app registers to publish resources it computes. Subclass and fill in:

    - `search_params`: {resource type: {parameter name: FHIR search kind}} of every type
      it answers wholly (`patient` is added here for `compartment_types`);
    - `compartment_types`: the types whose resources belong to a patient's record (only
      requesters allowed that Patient, or the account that owns them, see them); the
      others are in no compartment and, like stored Locations, hidden from requesters
      limited to a patient;
    - `read()`, `search()`, and `owns()` when it also answers single ids of a type the
      store keeps (clinic Locations among stored Locations).
    """

    search_params = {}
    compartment_types = frozenset()

    @property
    def types(self):
        return frozenset(self.search_params)

    def owns(self, resource_type, resource_id=None):
        """Whether this projection answers the type (or, with an id, this one resource)."""
        return resource_type in self.types

    def read(self, resource_type, resource_id, access):
        """The resource as a dict, or None when unknown or outside `access`."""
        raise NotImplementedError

    def search(self, resource_type, params, access, count):
        """At most `count` resource dicts (in the projection's order) for `params`
        ({name: [values]}, without `_count` and `patient`), limited to `access`. Raise
        errors.InvalidSearch (a 400) for values it cannot answer."""
        raise NotImplementedError

    def patient_id(self, data):
        """The Patient id a projected resource belongs to, for access and audit ('' for
        none). The default reads a Patient reference in `subject`, `patient` or an
        Appointment-like `participant.actor`."""
        candidates = [data.get("subject"), data.get("patient")]
        candidates += [p.get("actor") for p in data.get("participant") or []]
        for reference in candidates:
            text = (reference or {}).get("reference", "")
            if text.startswith("Patient/"):
                return text.removeprefix("Patient/")
        return ""


@dataclass
class ProjectionAccess:
    """Whose data one request may see, for the app to apply in its own queries.

    `accounts`: None means every account's data; a list means only data these portal
    accounts own ([] means nobody's). `patients`: when set, the Patient ids the resource's
    patient must be one of (applied again here after the app answered).
    """

    accounts: list | None = None
    patients: set | None = None

    def __post_init__(self):
        self._linked = None

    def patient_of(self, account_id):
        """The Patient id an account's own data is filed under (its first link, preferring
        one of `patients`), or None when the account is linked to no Patient."""
        if self._linked is None:
            self._linked = {}
        if account_id not in self._linked:
            ids = patient_ids_by_user([account_id]).get(account_id, [])
            preferred = [i for i in ids if i in (self.patients or ())]
            self._linked[account_id] = (preferred or ids or [None])[0]
        return self._linked[account_id]


_REGISTRY = []


def register(projection):
    """Publish an app's projection (call from its AppConfig.ready); returns it."""
    for other in _REGISTRY:
        if type(other) is type(projection):
            return other
        clash = other.types & projection.types
        if clash:
            raise ValueError(f"{sorted(clash)} are projected twice")
    _REGISTRY.append(projection)
    return projection


def registered():
    return list(_REGISTRY)


def projection_for(resource_type, resource_id=None):
    for projection in _REGISTRY:
        if projection.owns(resource_type, resource_id):
            return projection
    return None


@dataclass
class Projected:
    """A projected resource, with the attributes the API uses of a stored Resource."""

    data: dict
    patient_id: str = ""

    @property
    def resource_type(self):
        return self.data["resourceType"]

    @property
    def resource_id(self):
        return self.data["id"]

    @cached_property
    def body(self):
        return dumps(self.data)


def is_projected(resource_type, resource_id=None):
    """Whether the API answers this type (or this one resource) from another app."""
    return projection_for(resource_type, resource_id) is not None


def read_only(resource_type, expression=None):
    return FhirError(
        405,
        f"{resource_type} resources are computed by another part of the portal and are "
        "read-only here: only read and search are supported",
        code="not-supported",
        expression=expression,
    )


def capability_entries():
    """CapabilityStatement.rest.resource entries for the projected types."""
    entries = []
    for projection in _REGISTRY:
        for resource_type in sorted(projection.types):
            kinds = dict(projection.search_params[resource_type])
            if resource_type in projection.compartment_types:
                kinds["patient"] = "reference"
            entries.append(
                {
                    "type": resource_type,
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{"name": name, "type": kinds[name]} for name in sorted(kinds)],
                }
            )
    return entries


# -- access -------------------------------------------------------------------------------------


def _access(projection, requester, resource_type, permission, patient_ids=None):
    limit = requester.compartment(resource_type, permission)  # Forbidden without a scope
    if resource_type not in projection.compartment_types:
        # Not patient data, so in no compartment: like the store's Locations, only
        # requesters whose limit takes in resources of no compartment ("": clinic staff,
        # limited to their clinics' patients) or who have none see them.
        return ProjectionAccess() if limit is None or "" in limit else ProjectionAccess(accounts=[])
    if requester.kind == RESIDENT:
        # Their own data (a household's bookings too), linked to a Patient or not.
        access = ProjectionAccess(accounts=[requester.user])
    elif limit is None:
        access = ProjectionAccess()
    else:
        access = ProjectionAccess(accounts=linked_users(limit), patients=set(limit))
    if patient_ids is not None:
        linked = linked_users(patient_ids)
        access.accounts = (
            linked if access.accounts is None else [u for u in access.accounts if u in linked]
        )
        access.patients = (
            set(patient_ids) if access.patients is None else access.patients & set(patient_ids)
        )
    return access


def _visible(projection, found, access):
    out = []
    for data in found:
        item = Projected(data, projection.patient_id(data))
        if access.patients is None or item.patient_id in access.patients:
            out.append(item)
    return out


# -- read and search ----------------------------------------------------------------------------


def read(resource_type, resource_id, requester):
    """One projected resource as a Projected (audited); NotFound when absent or not
    visible (the same answer, so nobody can tell another resident's resource exists)."""
    projection = projection_for(resource_type, resource_id)
    access = _access(projection, requester, resource_type, "r")
    found = []
    if access.accounts != []:
        data = projection.read(resource_type, resource_id, access)
        found = _visible(projection, [data] if data else [], access)
    if not found:
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    requester.audit.add("read", resource_type, resource_id, found[0].patient_id)
    return found[0]


def exists(resource_type, resource_id, requester):
    """Whether a projected resource exists and the requester may see it (not audited: used
    to check references, which reads nothing of it)."""
    projection = projection_for(resource_type, resource_id)
    if projection is None:
        return False
    try:
        access = _access(projection, requester, resource_type, "r")
    except FhirError:
        return False
    if access.accounts == []:
        return False
    data = projection.read(resource_type, resource_id, access)
    return bool(data and _visible(projection, [data], access))


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
    """Search a projected type with [(name, value)] query parameters (audited).

    Returns (matches, total, count): Projected resources in the projection's order, the
    total when the page holds every match (else None), and the page size asked for.
    """
    from .search import query_detail

    projection = projection_for(resource_type)
    grouped = {}
    for name, value in params:
        check_value(name, value)
        if name not in _IGNORED:
            grouped.setdefault(name, []).append(value)
    count = default_count()
    if "_count" in grouped:
        count = _parse_int("_count", grouped.pop("_count")[0], 0, MAX_COUNT)
    patient_ids = None
    if "patient" in grouped:
        if resource_type not in projection.compartment_types:
            raise FhirError(400, f"{resource_type} has no patient parameter", code="invalid")
        patient_ids = _patient_param(grouped.pop("patient"))
    unknown = set(grouped) - set(projection.search_params[resource_type])
    if unknown:
        raise FhirError(
            400,
            f"Unknown search parameter {sorted(unknown)[0]!r} for {resource_type}",
            code="not-supported",
        )
    access = _access(projection, requester, resource_type, "s", patient_ids)
    found = []
    # A patient-data type is searched even for no accounts (it then matches nothing), so bad
    # values are refused the same for every requester; other types are not searched at all
    # for a requester that may not see them.
    if access.accounts != [] or resource_type in projection.compartment_types:
        found = projection.search(resource_type, grouped, access, max(count, 1))
    complete = len(found) < max(count, 1)
    matches = _visible(projection, found, access)[:count]
    total = len(matches) if complete else None
    requester.audit.add_resources(
        "search", matches, resource_type, detail=query_detail(params, total)
    )
    return matches, total, count


def self_link(url, params, count):
    """The searchset's self link (projected searches have one page: no first/next)."""
    kept = [(k, v) for k, v in params if k != "_count"]
    return {"relation": "self", "url": f"{url}?{urlencode([*kept, ('_count', str(count))])}"}
