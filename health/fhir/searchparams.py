"""Search parameters: which exist per resource type, and how their values are extracted.

Each parameter is (kind, paths[, target types]). A path is a dotted walk through the JSON body;
lists are walked element by element and choice types ([x]) are spelled out. The kinds follow
FHIR's: token, string, date, reference, quantity. `_id` and `_lastUpdated` work on every type
from the current-resource row and are not listed here.
"""

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils import timezone as dj_timezone

TOKEN, STRING, DATE, REFERENCE, QUANTITY = "token", "string", "date", "reference", "quantity"

_PATIENT = ("Patient",)

# Parameters that several clinical types share.
_CLINICAL = {
    "identifier": (TOKEN, ["identifier"]),
    "subject": (REFERENCE, ["subject"]),
    "patient": (REFERENCE, ["subject"], _PATIENT),
    "encounter": (REFERENCE, ["encounter"]),
}

SEARCH_PARAMS = {
    "Patient": {
        "identifier": (TOKEN, ["identifier"]),
        "name": (STRING, ["name"]),
        "family": (STRING, ["name.family"]),
        "given": (STRING, ["name.given"]),
        "birthdate": (DATE, ["birthDate"]),
        "gender": (TOKEN, ["gender"]),
        "active": (TOKEN, ["active"]),
        "telecom": (TOKEN, ["telecom"]),
        "address": (STRING, ["address"]),
        "general-practitioner": (REFERENCE, ["generalPractitioner"]),
        "organization": (REFERENCE, ["managingOrganization"]),
    },
    "Practitioner": {
        "identifier": (TOKEN, ["identifier"]),
        "name": (STRING, ["name"]),
        "family": (STRING, ["name.family"]),
        "given": (STRING, ["name.given"]),
        "gender": (TOKEN, ["gender"]),
        "active": (TOKEN, ["active"]),
    },
    "PractitionerRole": {
        "identifier": (TOKEN, ["identifier"]),
        "practitioner": (REFERENCE, ["practitioner"]),
        "organization": (REFERENCE, ["organization"]),
        "location": (REFERENCE, ["location"]),
        "role": (TOKEN, ["code"]),
        "specialty": (TOKEN, ["specialty"]),
        "active": (TOKEN, ["active"]),
    },
    "Organization": {
        "identifier": (TOKEN, ["identifier"]),
        "name": (STRING, ["name", "alias"]),
        "type": (TOKEN, ["type"]),
        "active": (TOKEN, ["active"]),
        "partof": (REFERENCE, ["partOf"]),
    },
    "Location": {
        "identifier": (TOKEN, ["identifier"]),
        "name": (STRING, ["name", "alias"]),
        "status": (TOKEN, ["status"]),
        "type": (TOKEN, ["type"]),
        "organization": (REFERENCE, ["managingOrganization"]),
        "address": (STRING, ["address"]),
    },
    "Encounter": {
        **_CLINICAL,
        "encounter": None,
        "status": (TOKEN, ["status"]),
        "class": (TOKEN, ["class"]),
        "type": (TOKEN, ["type"]),
        "date": (DATE, ["period"]),
        "participant": (REFERENCE, ["participant.individual"]),
        "practitioner": (REFERENCE, ["participant.individual"], ("Practitioner",)),
        "service-provider": (REFERENCE, ["serviceProvider"]),
        "location": (REFERENCE, ["location.location"]),
        "reason-code": (TOKEN, ["reasonCode"]),
    },
    "Condition": {
        **_CLINICAL,
        "code": (TOKEN, ["code"]),
        "category": (TOKEN, ["category"]),
        "clinical-status": (TOKEN, ["clinicalStatus"]),
        "verification-status": (TOKEN, ["verificationStatus"]),
        "onset-date": (DATE, ["onsetDateTime", "onsetPeriod"]),
        "abatement-date": (DATE, ["abatementDateTime", "abatementPeriod"]),
        "recorded-date": (DATE, ["recordedDate"]),
    },
    "AllergyIntolerance": {
        **_CLINICAL,
        "subject": None,
        "patient": (REFERENCE, ["patient"], _PATIENT),
        "code": (TOKEN, ["code", "reaction.substance"]),
        "clinical-status": (TOKEN, ["clinicalStatus"]),
        "verification-status": (TOKEN, ["verificationStatus"]),
        "category": (TOKEN, ["category"]),
        "type": (TOKEN, ["type"]),
        "criticality": (TOKEN, ["criticality"]),
        "date": (DATE, ["recordedDate"]),
        "onset": (DATE, ["onsetDateTime", "onsetPeriod"]),
    },
    "Observation": {
        **_CLINICAL,
        "code": (TOKEN, ["code"]),
        "category": (TOKEN, ["category"]),
        "status": (TOKEN, ["status"]),
        "date": (DATE, ["effectiveDateTime", "effectivePeriod", "effectiveInstant"]),
        "value-quantity": (QUANTITY, ["valueQuantity"]),
        "component-code": (TOKEN, ["component.code"]),
        "performer": (REFERENCE, ["performer"]),
        "based-on": (REFERENCE, ["basedOn"]),
    },
    "MedicationRequest": {
        **_CLINICAL,
        "code": (TOKEN, ["medicationCodeableConcept"]),
        "medication": (REFERENCE, ["medicationReference"]),
        "status": (TOKEN, ["status"]),
        "intent": (TOKEN, ["intent"]),
        "category": (TOKEN, ["category"]),
        "authoredon": (DATE, ["authoredOn"]),
        "requester": (REFERENCE, ["requester"]),
    },
    "MedicationStatement": {
        **_CLINICAL,
        "encounter": None,
        "context": (REFERENCE, ["context"]),
        "code": (TOKEN, ["medicationCodeableConcept"]),
        "medication": (REFERENCE, ["medicationReference"]),
        "status": (TOKEN, ["status"]),
        "category": (TOKEN, ["category"]),
        "effective": (DATE, ["effectiveDateTime", "effectivePeriod"]),
    },
    "Medication": {
        "identifier": (TOKEN, ["identifier"]),
        "code": (TOKEN, ["code"]),
        "status": (TOKEN, ["status"]),
    },
    "Immunization": {
        **_CLINICAL,
        "subject": None,
        "patient": (REFERENCE, ["patient"], _PATIENT),
        "vaccine-code": (TOKEN, ["vaccineCode"]),
        "status": (TOKEN, ["status"]),
        "date": (DATE, ["occurrenceDateTime"]),
        "location": (REFERENCE, ["location"]),
        "performer": (REFERENCE, ["performer.actor"]),
    },
    "ImmunizationRecommendation": {
        "identifier": (TOKEN, ["identifier"]),
        "patient": (REFERENCE, ["patient"], _PATIENT),
        "vaccine-type": (TOKEN, ["recommendation.vaccineCode"]),
        "status": (TOKEN, ["recommendation.forecastStatus"]),
        "date": (DATE, ["date"]),
    },
    "Procedure": {
        **_CLINICAL,
        "code": (TOKEN, ["code"]),
        "category": (TOKEN, ["category"]),
        "status": (TOKEN, ["status"]),
        "date": (DATE, ["performedDateTime", "performedPeriod"]),
        "performer": (REFERENCE, ["performer.actor"]),
    },
    "DiagnosticReport": {
        **_CLINICAL,
        "code": (TOKEN, ["code"]),
        "category": (TOKEN, ["category"]),
        "status": (TOKEN, ["status"]),
        "date": (DATE, ["effectiveDateTime", "effectivePeriod"]),
        "issued": (DATE, ["issued"]),
        "result": (REFERENCE, ["result"]),
        "performer": (REFERENCE, ["performer"]),
    },
    "DocumentReference": {
        **_CLINICAL,
        "encounter": (REFERENCE, ["context.encounter"]),
        "type": (TOKEN, ["type"]),
        "category": (TOKEN, ["category"]),
        "status": (TOKEN, ["status"]),
        "date": (DATE, ["date"]),
        "period": (DATE, ["context.period"]),
        "author": (REFERENCE, ["author"]),
    },
    "CarePlan": {
        **_CLINICAL,
        "category": (TOKEN, ["category"]),
        "status": (TOKEN, ["status"]),
        "intent": (TOKEN, ["intent"]),
        "date": (DATE, ["period"]),
    },
    "Claim": {
        "identifier": (TOKEN, ["identifier"]),
        "patient": (REFERENCE, ["patient"], _PATIENT),
        "status": (TOKEN, ["status"]),
        "use": (TOKEN, ["use"]),
        "created": (DATE, ["created"]),
        "provider": (REFERENCE, ["provider"]),
        "encounter": (REFERENCE, ["item.encounter"]),
    },
    "ExplanationOfBenefit": {
        "identifier": (TOKEN, ["identifier"]),
        "patient": (REFERENCE, ["patient"], _PATIENT),
        "status": (TOKEN, ["status"]),
        "created": (DATE, ["created"]),
        "provider": (REFERENCE, ["provider"]),
        "claim": (REFERENCE, ["claim"]),
        "encounter": (REFERENCE, ["item.encounter"]),
    },
}
# A None entry removes an inherited parameter that the type does not have.
for _params in SEARCH_PARAMS.values():
    for _name in [n for n, d in _params.items() if d is None]:
        del _params[_name]

# Single-valued elements whose Patient reference is exactly the resource's compartment
# (search.py answers `patient=` from the compartment column for them).
SINGLE_PATIENT_ELEMENTS = {"subject", "patient"}

# Elements that put a resource of a type without declared parameters into a patient's
# compartment (so resident access and $everything still see it).
_GENERIC_PATIENT_PATHS = ["subject", "patient", "beneficiary"]

# Element types whose sub-element holds a Patient reference in compartment terms.
DATE_MIN = datetime(1, 1, 1, tzinfo=UTC)
DATE_MAX = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def params_for(resource_type):
    """The declared search parameters of a type ({} for types that are only stored)."""
    return SEARCH_PARAMS.get(resource_type, {})


def _walk(node, parts):
    """The values at a split path below `node`; lists are walked element by element."""
    found = []
    _collect(node, parts, 0, found)
    return found


def _collect(node, parts, at, found):
    if node is None:
        return
    if isinstance(node, list):
        for item in node:
            _collect(item, parts, at, found)
    elif at == len(parts):
        found.append(node)
    elif isinstance(node, dict):
        _collect(node.get(parts[at]), parts, at + 1, found)


@lru_cache(maxsize=1024)
def _split(path):
    return tuple(path.split("."))


def values_at(body, paths):
    """Every value found at any of the dotted paths in a resource body."""
    for path in paths:
        yield from _walk(body, _split(path))


# -- value extraction ---------------------------------------------------------------------------


def clean_text(text):
    """Text safe for every database: PostgreSQL rejects NUL characters in text columns."""
    return text.replace("\x00", "")


def fold(text):
    """Case- and accent-insensitive form used for string search (FHIR's default match)."""
    decomposed = unicodedata.normalize("NFKD", clean_text(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def token_values(value):
    """(system, code) pairs for a code, Coding, CodeableConcept, Identifier or ContactPoint."""
    if isinstance(value, bool):
        return [("", "true" if value else "false")]
    if isinstance(value, str):
        return [("", value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value or "text" in value and "code" not in value and "value" not in value:
        return [
            (c.get("system") or "", c["code"])
            for c in value.get("coding") or []
            if isinstance(c, dict) and c.get("code")
        ]
    if value.get("code"):
        return [(value.get("system") or "", value["code"])]
    if value.get("value") and isinstance(value["value"], str):
        return [(value.get("system") or "", value["value"])]
    return []


_NAME_PARTS = ("text", "family", "given", "prefix", "suffix")
_ADDRESS_PARTS = ("text", "line", "city", "district", "state", "postalCode", "country")


def string_values(value):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    parts = _NAME_PARTS if ("family" in value or "given" in value) else _ADDRESS_PARTS
    if (
        "family" not in value
        and "given" not in value
        and "line" not in value
        and "city" not in value
    ):
        parts = _NAME_PARTS + _ADDRESS_PARTS
    out = []
    for part in parts:
        item = value.get(part)
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list):
            out.extend(i for i in item if isinstance(i, str))
    return out


_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def server_timezone():
    """The zone FHIR dates and times without an offset are read in: the server's
    (settings.TIME_ZONE), as FHIR's search rules ask, for stored values and search values
    alike, so `2026-05-04` means the district's day everywhere."""
    return dj_timezone.get_default_timezone()


def _to_utc(naive, zone):
    """A local wall-clock time as UTC, clamped to the calendar's ends (the local midnight
    of 1 January of year 1 is before year 1 in UTC east of Greenwich)."""
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return DATE_MIN if naive.year == 1 else DATE_MAX


def _next(naive, **step):
    """The naive moment one calendar step later, or None past the end of year 9999."""
    try:
        if "years" in step:
            return naive.replace(year=naive.year + 1)
        if "months" in step:
            if naive.month == 12:
                return naive.replace(year=naive.year + 1, month=1)
            return naive.replace(month=naive.month + 1)
        return naive + timedelta(**step)
    except (OverflowError, ValueError):
        return None


def date_range(text, zone=None):
    """The closed UTC range [start, end] that a FHIR date, dateTime or instant covers.

    `2020` covers the whole year, `2020-03-04` the whole day and `2020-03-04T10:00` the whole
    minute. A value without an offset is read in `zone` (default: the server's time zone);
    ranges are clamped to year 1 .. 9999. Returns None for text that is not a date or names
    no real moment (30 February, hour 25, offset +99:00).

    This is the one date parser of the FHIR layer: the index of stored resources, search
    values of stored and projected types, `_lastUpdated` and `_since` all use it.
    """
    if not isinstance(text, str):
        return None
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            naive, step = datetime(year, 1, 1), {"years": 1}
        elif g["d"] is None:
            naive, step = datetime(year, int(g["m"]), 1), {"months": 1}
        elif g["H"] is None:
            naive, step = datetime(year, int(g["m"]), int(g["d"])), {"days": 1}
        else:
            naive = datetime(year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]))
            if g["S"] is None:
                step = {"minutes": 1}
            elif g["f"] is None:
                naive = naive.replace(second=int(g["S"]))
                step = {"seconds": 1}
            else:
                frac = g["f"][:6]
                naive = naive.replace(second=int(g["S"]), microsecond=int(frac.ljust(6, "0")))
                step = {"microseconds": 10 ** (6 - len(frac))}
        if g["tz"]:
            if g["tz"] == "Z":
                offset = UTC
            else:
                sign = 1 if g["tz"][0] == "+" else -1
                hours, minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
                offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
            zone = offset
        else:
            zone = zone or server_timezone()
    except (ValueError, OverflowError):
        return None
    start = _to_utc(naive, zone)
    following = _next(naive, **step)
    end = DATE_MAX if following is None else _to_utc(following, zone)
    if end < DATE_MAX:
        end -= timedelta(microseconds=1)
    return start, end


def date_values(value):
    if isinstance(value, str):
        rng = date_range(value)
        return [rng] if rng else []
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(value.get("start")) if value.get("start") else None
        end = date_range(value.get("end")) if value.get("end") else None
        if start is None and end is None:
            return []
        return [(start[0] if start else DATE_MIN, end[1] if end else DATE_MAX)]
    return []


def parse_reference(reference):
    """(type, id) of a literal reference (relative or absolute URL); None for others."""
    if not isinstance(reference, str) or reference.startswith("#") or "?" in reference:
        return None
    parts = reference.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    return None


def reference_values(value):
    if isinstance(value, dict):
        parsed = parse_reference(value.get("reference"))
        if parsed:
            return [parsed]
    return []


# The quantity index column holds 20 integer and 10 decimal digits; larger magnitudes
# (valid FHIR, but not measurements anyone searches by) are stored and not indexed.
QUANTITY_LIMIT = Decimal(10) ** 20


def quantity_values(value):
    if not isinstance(value, dict) or value.get("value") is None:
        return []
    try:
        number = Decimal(str(value["value"]))
    except InvalidOperation:
        return []
    if not number.is_finite() or abs(number) >= QUANTITY_LIMIT:
        return []
    number = number.quantize(Decimal("1e-10")) if number.as_tuple().exponent < -10 else number
    return [(number, value.get("system") or "", value.get("code") or value.get("unit") or "")]


# -- whole-resource extraction ------------------------------------------------------------------


def _add_tokens(out, param, value, targets):
    for system, code in token_values(value):
        out.add((param, clean_text(system)[:255], clean_text(code)[:255]))


def _add_strings(out, param, value, targets):
    for text in string_values(value):
        if text.strip():
            out.add((param, fold(text)[:255], clean_text(text)[:255]))


def _add_dates(out, param, value, targets):
    for start, end in date_values(value):
        out.add((param, start, end))


def _add_references(out, param, value, targets):
    for target_type, target_id in reference_values(value):
        if targets is None or target_type in targets:
            out.add((param, clean_text(target_type)[:64], clean_text(target_id)[:255]))


def _add_quantities(out, param, value, targets):
    for number, system, code in quantity_values(value):
        out.add((param, number, clean_text(system)[:255], clean_text(code)[:255]))


_ADDERS = {
    TOKEN: _add_tokens,
    STRING: _add_strings,
    DATE: _add_dates,
    REFERENCE: _add_references,
    QUANTITY: _add_quantities,
}


@lru_cache(maxsize=512)
def _extractors(resource_type):
    """A type's parameters prepared once: (kind, adder, param, split paths, target types)."""
    prepared = []
    for param, definition in params_for(resource_type).items():
        kind, paths = definition[0], definition[1]
        targets = frozenset(definition[2]) if len(definition) > 2 else None
        split = tuple(_split(path) for path in paths)
        prepared.append((kind, _ADDERS[kind], param, split, targets))
    return tuple(prepared)


def extract_index(resource_type, body):
    """All index entries of a resource: {kind: [(param, *values), ...]}.

    Duplicates (one code in two codings, say) are removed so the index stays small.
    """
    out = {TOKEN: set(), STRING: set(), DATE: set(), REFERENCE: set(), QUANTITY: set()}
    found = []
    for kind, add, param, paths, targets in _extractors(resource_type):
        target = out[kind]
        for parts in paths:
            # Most elements are absent, or a single value one step down: no walk for those.
            value = body.get(parts[0])
            if value is None:
                continue
            if len(parts) == 1 and not isinstance(value, list):
                add(target, param, value, targets)
                continue
            found.clear()
            _collect(value, parts, 1, found)
            for value in found:
                add(target, param, value, targets)
    return out


@lru_cache(maxsize=512)
def _patient_paths(resource_type):
    definition = params_for(resource_type).get("patient")
    return tuple(definition[1]) if definition else tuple(_GENERIC_PATIENT_PATHS)


def patient_compartment(resource_type, resource_id, body):
    """The id of the Patient whose compartment holds the resource, or ''."""
    if resource_type == "Patient":
        return resource_id
    for value in values_at(body, _patient_paths(resource_type)):
        for target_type, target_id in reference_values(value):
            if target_type == "Patient":
                return target_id
    return ""
