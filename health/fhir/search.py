"""Search: FHIR query parameters turned into one SQL query over the index tables.

Each parameter becomes a semi-join (`pk IN (SELECT resource_id FROM <index> WHERE ...)`);
repeated parameters AND, comma-separated values OR. The requester's compartment limit is a
WHERE clause on the same query, so counts, totals and pages only ever see permitted rows.

Unknown parameters and modifiers are a 400 rather than silently ignored: a clinic system that
believes it filtered by a parameter must not get everybody's data back.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery

from . import searchparams as sp
from .errors import FhirError, InvalidSearch
from .models import DateIndex, QuantityIndex, ReferenceIndex, Resource, StringIndex, TokenIndex
from .validation import is_resource_type

CONTROL_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_total",
    "_summary",
    "_format",
    "_pretty",
}
COMMON_PARAMS = {"_id": sp.TOKEN, "_lastUpdated": sp.DATE}
PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")


def default_count():
    return settings.FHIR_DEFAULT_COUNT


def max_count():
    return settings.FHIR_MAX_COUNT


@dataclass
class Search:
    resource_type: str
    queryset: object
    count: int
    offset: int = 0
    includes: list = field(default_factory=list)
    revincludes: list = field(default_factory=list)
    summary_count: bool = False
    with_total: bool = True
    params: list = field(default_factory=list)


def _bad(message):
    return InvalidSearch(message)


def split_prefix(value):
    if len(value) > 2 and value[:2] in PREFIXES and (value[2].isdigit() or value[2] == "-"):
        return value[:2], value[2:]
    return "eq", value


def date_condition(prefix, value, start_field="start", end_field="end"):
    """The Q for a date search value against indexed [start, end] ranges (FHIR semantics)."""
    rng = sp.date_range(value)
    if rng is None:
        raise _bad(f"Not a FHIR date: {value!r}")
    low, high = rng
    s, e = start_field, end_field
    eq = Q(**{f"{s}__gte": low, f"{e}__lte": high})
    conditions = {
        "eq": eq,
        "ap": Q(**{f"{s}__lte": high, f"{e}__gte": low}),
        "ne": ~eq,
        "gt": Q(**{f"{e}__gt": high}),
        "lt": Q(**{f"{s}__lt": low}),
        "ge": Q(**{f"{e}__gt": high}) | eq,
        "le": Q(**{f"{s}__lt": low}) | eq,
        "sa": Q(**{f"{s}__gt": high}),
        "eb": Q(**{f"{e}__lt": low}),
    }
    return conditions[prefix]


def date_filter(name, values, start_field, end_field=None):
    """The Q for a date parameter's values ([(name, value)] occurrences: repeats AND,
    commas OR) on a model's own fields: a [start, end] pair, or one datetime field for an
    instant. The same rules as the store's index (searchparams.date_range), for the types
    other apps project (projections.py)."""
    end_field = end_field or start_field
    result = Q()
    for raw in values:
        check_value(name, raw)
        either = Q()
        for value in raw.split(","):
            if not value:
                raise _bad(f"Empty value for {name}")
            prefix, text = split_prefix(value)
            either |= date_condition(prefix, text, start_field, end_field)
        result &= either
    return result


def check_value(name, value):
    """Refuse what no search value may hold (PostgreSQL rejects NUL in text)."""
    if "\x00" in value or "\x00" in name:
        raise _bad(f"Invalid character in {name.replace(chr(0), '')}")


def _token_condition(value):
    if "|" in value:
        system, code = value.split("|", 1)
        if not system and not code:
            raise _bad("Empty token")
        if not system:
            return Q(system="", code=code)
        if not code:
            return Q(system=system)
        return Q(system=system, code=code)
    return Q(code=value)


def _quantity_condition(prefix, value):
    number_text, _, rest = value.partition("|")
    system, _, code = rest.partition("|")
    try:
        number = Decimal(number_text)
    except InvalidOperation:
        raise _bad(f"Not a quantity: {value!r}") from None
    if not number.is_finite() or abs(number) >= sp.QUANTITY_LIMIT:
        raise _bad(f"Quantity out of range: {value!r}")
    exponent = number.as_tuple().exponent
    half = Decimal(5) * Decimal(10) ** (exponent - 1) if isinstance(exponent, int) else Decimal(0)
    conditions = {
        "eq": Q(value__gte=number - half, value__lt=number + half),
        "ap": Q(value__gte=number * Decimal("0.9"), value__lte=number * Decimal("1.1")),
        "ne": ~Q(value__gte=number - half, value__lt=number + half),
        "gt": Q(value__gt=number),
        "lt": Q(value__lt=number),
        "ge": Q(value__gte=number),
        "le": Q(value__lte=number),
        "sa": Q(value__gt=number),
        "eb": Q(value__lt=number),
    }
    cond = conditions[prefix]
    if system:
        cond &= Q(system=system)
    if code:
        cond &= Q(code=code)
    return cond


def _reference_condition(value, modifier_type):
    parsed = sp.parse_reference(value)
    if parsed:
        target_type, target_id = parsed
        if modifier_type and modifier_type != target_type:
            raise _bad(f"Reference {value!r} does not match :{modifier_type}")
        return Q(target_type=target_type, target_id=target_id)
    if "/" in value or not value:
        raise _bad(f"Not a reference: {value!r}")
    if modifier_type:
        return Q(target_type=modifier_type, target_id=value)
    return Q(target_id=value)


def _compartment_shortcut(resource_type, name, modifier, values):
    """Patient ids when `patient=` can use the current row's compartment column, else None.

    The compartment column holds the Patient that the type's single `patient` element
    (subject, patient) refers to, so for these types it answers `patient=X` exactly, from
    the (patient_id, resource_type) index instead of a join through the reference index.
    """
    if name != "patient" or modifier not in (None, "Patient"):
        return None
    paths = sp.params_for(resource_type)["patient"][1]
    if paths[0] not in sp.SINGLE_PATIENT_ELEMENTS or len(paths) != 1:
        return None
    ids = []
    for value in values:
        parsed = sp.parse_reference(value)
        if parsed:
            if parsed[0] != "Patient":
                return None
            ids.append(parsed[1])
        elif "/" in value:
            return None
        else:
            ids.append(value)
    return ids


def _param_filter(resource_type, name, modifier, raw_value, patient_scope=None):
    """A Q on Resource for one search parameter occurrence."""
    check_value(name, raw_value)
    values = raw_value.split(",")
    if any(v == "" for v in values):
        raise _bad(f"Empty value for {name}")

    if name == "_id":
        if modifier:
            raise _bad("_id takes no modifier")
        return Q(resource_id__in=values)
    if name == "_lastUpdated":
        if modifier:
            raise _bad("_lastUpdated takes no modifier")
        q = Q()
        for v in values:
            prefix, text = split_prefix(v)
            q |= date_condition(prefix, text, "last_updated", "last_updated")
        return q

    definition = sp.params_for(resource_type).get(name)
    if definition is None:
        raise _bad(f"Unknown search parameter {name!r} for {resource_type}")
    kind = definition[0]
    base = {"resource_type": resource_type, "param": name}

    if kind == sp.TOKEN:
        if modifier not in (None, "not"):
            raise _bad(f"Modifier :{modifier} is not supported on {name}")
        cond = Q()
        for v in values:
            cond |= _token_condition(v)
        if patient_scope is not None and modifier != "not":
            # Narrows the index range to the compartment already required of the result.
            base["patient_id__in"] = patient_scope
        sub = TokenIndex.objects.filter(cond, **base).values("resource_id")
        return ~Q(pk__in=sub) if modifier == "not" else Q(pk__in=sub)
    if kind == sp.STRING:
        if modifier not in (None, "exact", "contains"):
            raise _bad(f"Modifier :{modifier} is not supported on {name}")
        cond = Q()
        for v in values:
            if modifier == "exact":
                cond |= Q(exact=v)
            elif modifier == "contains":
                cond |= Q(value__contains=sp.fold(v))
            else:
                cond |= Q(value__startswith=sp.fold(v))
        return Q(pk__in=StringIndex.objects.filter(cond, **base).values("resource_id"))
    if kind == sp.DATE:
        if modifier:
            raise _bad(f"Modifier :{modifier} is not supported on {name}")
        cond = Q()
        for v in values:
            prefix, text = split_prefix(v)
            cond |= date_condition(prefix, text)
        return Q(pk__in=DateIndex.objects.filter(cond, **base).values("resource_id"))
    if kind == sp.REFERENCE:
        if modifier and not is_resource_type(modifier):
            raise _bad(f"Modifier :{modifier} is not supported on {name}")
        compartment_ids = _compartment_shortcut(resource_type, name, modifier, values)
        if compartment_ids is not None:
            return Q(patient_id__in=compartment_ids)
        cond = Q()
        for v in values:
            cond |= _reference_condition(v, modifier)
        return Q(pk__in=ReferenceIndex.objects.filter(cond, **base).values("resource_id"))
    if kind == sp.QUANTITY:
        if modifier:
            raise _bad(f"Modifier :{modifier} is not supported on {name}")
        cond = Q()
        for v in values:
            prefix, text = split_prefix(v)
            cond |= _quantity_condition(prefix, text)
        return Q(pk__in=QuantityIndex.objects.filter(cond, **base).values("resource_id"))
    raise _bad(f"Unsupported parameter {name}")  # pragma: no cover - kinds are closed


def _parse_int(name, value, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(f"{name} must be a whole number") from None
    if number < low:
        raise _bad(f"{name} must be at least {low}")
    return min(number, high)


_INCLUDE_RE = re.compile(
    r"^(?P<source>[A-Z][A-Za-z]+):(?P<param>[a-z][a-z\-]*)(?::(?P<target>[A-Z][A-Za-z]+))?$"
)


def _parse_include(value, *, reverse, resource_type):
    match = _INCLUDE_RE.match(value)
    if not match:
        raise _bad(f"Malformed include {value!r} (expected Type:param[:TargetType])")
    source, param, target = match["source"], match["param"], match["target"]
    if not reverse and source != resource_type:
        raise _bad(f"_include must start with the searched type {resource_type}")
    definition = sp.params_for(source).get(param)
    if definition is None or definition[0] != sp.REFERENCE:
        raise _bad(f"{source}:{param} is not a reference search parameter")
    return source, param, target


def build_search(resource_type, params, requester=None):
    """Build a Search from [(name, value)] query parameters for one resource type.

    Raises FhirError(400) for unknown parameters, modifiers or malformed values, and
    Forbidden when the requester may not search the type at all.
    """
    qs = Resource.objects.filter(resource_type=resource_type, deleted=False)
    if requester is not None:
        limit = requester.compartment(resource_type, "s")
        if limit is not None:
            qs = qs.filter(patient_id__in=limit)
    search = Search(resource_type=resource_type, queryset=qs, count=default_count(), params=params)
    patient_scope = None if requester is None else requester.compartment(resource_type, "s")
    for key, value in params:
        name, _, modifier = key.partition(":")
        if name == "patient" and "," not in value:
            ids = _compartment_shortcut(resource_type, name, modifier or None, [value])
            if ids:
                patient_scope = set(ids) if patient_scope is None else patient_scope & set(ids)
    sort = None
    for key, value in params:
        name, _, modifier = key.partition(":")
        modifier = modifier or None
        if name in CONTROL_PARAMS:
            if name == "_count":
                search.count = _parse_int("_count", value, 0, max_count())
            elif name == "_offset":
                search.offset = _parse_int("_offset", value, 0, 10**9)
            elif name == "_sort":
                sort = value
            elif name == "_include":
                search.includes.append(
                    _parse_include(value, reverse=False, resource_type=resource_type)
                )
            elif name == "_revinclude":
                search.revincludes.append(
                    _parse_include(value, reverse=True, resource_type=resource_type)
                )
            elif name == "_total":
                if value not in ("none", "estimate", "accurate"):
                    raise _bad("_total must be none, estimate or accurate")
                search.with_total = value != "none"
            elif name == "_summary":
                if value == "count":
                    search.summary_count = True
                elif value != "false":
                    raise _bad("Only _summary=count and _summary=false are supported")
            elif name == "_format" and value not in (
                "json",
                "application/json",
                "application/fhir+json",
            ):
                raise FhirError(406, "Only JSON is supported", code="not-supported")
            continue
        if name not in COMMON_PARAMS and name.startswith("_"):
            raise _bad(f"Search parameter {name} is not supported")
        qs = qs.filter(_param_filter(resource_type, name, modifier, value, patient_scope))
    search.queryset = _apply_sort(qs, resource_type, sort)
    return search


def _apply_sort(qs, resource_type, sort):
    order = []
    if sort:
        for index, item in enumerate(sort.split(",")):
            descending = item.startswith("-")
            name = item.lstrip("-")
            if name == "_lastUpdated":
                expr = F("last_updated")
            elif name == "_id":
                expr = F("resource_id")
            else:
                definition = sp.params_for(resource_type).get(name)
                if definition is None or definition[0] != sp.DATE:
                    raise _bad(f"Cannot sort {resource_type} by {name!r}")
                alias = f"_sort{index}"
                # Earliest start for ascending, latest end for descending: the order a
                # clinician expects for periods as well as single instants.
                field_name = "-end" if descending else "start"
                qs = qs.annotate(
                    **{
                        alias: Subquery(
                            DateIndex.objects.filter(resource=OuterRef("pk"), param=name)
                            .order_by(field_name)
                            .values(field_name.lstrip("-"))[:1]
                        )
                    }
                )
                expr = F(alias)
            order.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
    order.append(F("pk").asc())
    return qs.order_by(*order)


def visible(queryset, requester, resource_type):
    """Limit a Resource queryset of one type to what the requester may read."""
    if requester is None:
        return queryset
    if not requester.allows(resource_type, "r"):
        return queryset.none()
    limit = requester.compartment(resource_type, "r")
    return queryset if limit is None else queryset.filter(patient_id__in=limit)


def resolve_includes(search, matches, requester=None):
    """Resources named by _include and _revinclude for a page of matches (deduplicated)."""
    if not matches or not (search.includes or search.revincludes):
        return []
    seen = {(r.resource_type, r.resource_id) for r in matches}
    pks = [r.pk for r in matches]
    out = []
    for _source, param, target in search.includes:
        refs = ReferenceIndex.objects.filter(resource_id__in=pks, param=param)
        if target:
            refs = refs.filter(target_type=target)
        wanted = {}
        for target_type, target_id in refs.values_list("target_type", "target_id").distinct():
            wanted.setdefault(target_type, set()).add(target_id)
        for target_type, ids in wanted.items():
            qs = Resource.objects.filter(
                resource_type=target_type, resource_id__in=ids, deleted=False
            )
            for resource in visible(qs, requester, target_type):
                key = (resource.resource_type, resource.resource_id)
                if key not in seen:
                    seen.add(key)
                    out.append(resource)
    ids = [r.resource_id for r in matches]
    for source, param, target in search.revincludes:
        if target and target != search.resource_type:
            continue
        sub = ReferenceIndex.objects.filter(
            resource_type=source,
            param=param,
            target_type=search.resource_type,
            target_id__in=ids,
        ).values("resource_id")
        qs = Resource.objects.filter(pk__in=sub, deleted=False).order_by("pk")
        for resource in visible(qs, requester, source):
            key = (resource.resource_type, resource.resource_id)
            if key not in seen:
                seen.add(key)
                out.append(resource)
    return out


@dataclass
class Page:
    """One evaluated page of a search."""

    matches: list
    included: list
    # None when not counted (_total=none, or a caller that only wants a page).
    total: int | None
    # Whether more matches follow this page.
    more: bool


def query_detail(params, total=None):
    """The audit row's detail for a search: its query, and how many were found."""
    query = "&".join(f"{k}={v}" for k, v in params)
    return (f"{query} ({total} found)" if total is not None else query)[:500]


def fetch(search, requester, *, count_total=None, action="search", detail=None):
    """Evaluate a Search: the page at its offset, the resources it includes, the total
    (when the search asks for it, or `count_total` says so); audited as `action` on the
    requester's trail, one row per patient and type.
    """
    if count_total is None:
        count_total = search.with_total or search.summary_count
    total = search.queryset.count() if count_total else None
    audit = requester.audit
    if search.summary_count:
        audit.add(
            "search", search.resource_type, detail=detail or query_detail(search.params, total)
        )
        return Page([], [], total, False)
    matches = []
    if search.count:
        # One row more than the page tells whether there is a next page without a count.
        rows = list(search.queryset[search.offset : search.offset + search.count + 1])
        matches = rows[: search.count]
        more = len(rows) > search.count
    else:
        more = bool(total)
    included = resolve_includes(search, matches, requester)
    audit.add_resources(
        action,
        matches + included,
        search.resource_type,
        detail=detail if detail is not None else query_detail(search.params, total),
    )
    return Page(matches, included, total, more)


def search_page(resource_type, params, requester, **options):
    """Build and evaluate a search of the store in one call (see build_search, fetch)."""
    return fetch(build_search(resource_type, params, requester), requester, **options)


def supported_params(resource_type):
    """(name, kind) of every search parameter the type supports, for the CapabilityStatement."""
    out = [("_id", sp.TOKEN), ("_lastUpdated", sp.DATE)]
    out += [(name, definition[0]) for name, definition in sp.params_for(resource_type).items()]
    return out
