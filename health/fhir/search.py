"""Search: FHIR query parameters turned into one SQL query over the index tables.

Each parameter becomes a semi-join (`pk IN (SELECT resource_id FROM <index> WHERE ...)`);
repeated parameters AND, comma-separated values OR. The requester's compartment limit is a
WHERE clause on the same query, so counts, totals and pages only ever see permitted rows.

Unknown parameters and modifiers are a 400 rather than silently ignored: a clinic system that
believes it filtered by a parameter must not get everybody's data back.
"""

import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, connections, router
from django.db.models import DateTimeField, F, OuterRef, Q, Subquery, Value

from portal.prepared import ModelRows, run

from . import searchparams as sp
from . import shaping
from .errors import Forbidden, InvalidSearch
from .models import DateIndex, QuantityIndex, ReferenceIndex, Resource, StringIndex, TokenIndex
from .references import HTTP, parse_local
from .validation import is_resource_type

CONTROL_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_include",
    "_revinclude",
    "_total",
    "_summary",
    "_elements",
    "_format",
    "_pretty",
}
COMMON_PARAMS = {"_id": sp.TOKEN, "_lastUpdated": sp.DATE}
PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")


def default_count():
    return settings.FHIR_DEFAULT_COUNT


def max_count():
    return settings.FHIR_MAX_COUNT


def max_page_bytes():
    """A page (search, $everything) stops early, with a next link, at this many bytes."""
    return settings.FHIR_MAX_PAGE_BYTES


def max_includes():
    return settings.FHIR_MAX_INCLUDES


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
    # The parameters the search applied (without those ignored under lenient handling).
    params: list = field(default_factory=list)
    shape: shaping.Shape = field(default_factory=shaping.Shape)


def _bad(message, code="invalid"):
    return InvalidSearch(message, code=code)


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
    if value.startswith(HTTP) and parse_local(value) is None:
        # Another server's resource: indexed under its whole URL.
        return Q(target_id=value[:255])
    parsed = parse_local(value) or sp.parse_reference(value)
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
    definition = sp.params_for(resource_type).get("patient")
    if name != "patient" or modifier not in (None, "Patient") or definition is None:
        return None
    paths = definition[1]
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
        raise _bad(f"Unknown search parameter {name!r} for {resource_type}", "not-supported")
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
    """A whole number written in ASCII digits (int() also reads "²" and "٣"), capped."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise _bad(f"{name} must be at least {low}")
        raise _bad(f"{name} must be a whole number")
    number = int(text)
    if number < low:
        raise _bad(f"{name} must be at least {low}")
    return min(number, high)


def is_known(resource_type, key):
    """Whether a query parameter name (with its modifier) is one this type understands."""
    if "." in key:
        key = key.partition(".")[0]
    name = key.partition(":")[0]
    return (
        name in CONTROL_PARAMS
        or name in COMMON_PARAMS
        or name == "_has"
        or name in sp.params_for(resource_type)
    )


def _chain_filter(resource_type, key, value, requester):
    """`subject:Patient.name=peter` (or `patient.name=peter` when the reference can only
    name one type): resources whose reference points at a resource matching the chained
    parameter. One level deep; the chained resources are limited to what the requester may
    see, so a chain tells no more than a search of them would."""
    left, _, right = key.partition(".")
    if "." in right:
        raise _bad("Chained search goes one level deep (e.g. subject:Patient.name=...)")
    name, _, target = left.partition(":")
    definition = sp.params_for(resource_type).get(name)
    if definition is None or definition[0] != sp.REFERENCE:
        raise _bad(f"{resource_type} has no reference parameter {name!r} to chain", "not-supported")
    targets = definition[2] if len(definition) > 2 else None
    if not target:
        if targets is None or len(targets) != 1:
            raise _bad(f"Name the type to chain through, e.g. {name}:Patient.{right}")
        target = targets[0]
    if not is_resource_type(target) or (targets is not None and target not in targets):
        raise _bad(f"{resource_type}.{name} cannot refer to {target}")
    chained, _, chained_modifier = right.partition(":")
    inner = Resource.objects.filter(resource_type=target, deleted=False).filter(
        _param_filter(target, chained, chained_modifier or None, value)
    )
    found = visible(inner, requester, target).values("resource_id")
    return Q(
        pk__in=ReferenceIndex.objects.filter(
            resource_type=resource_type, param=name, target_type=target, target_id__in=found
        ).values("resource_id")
    )


def _has_filter(resource_type, modifier, value, requester):
    """`_has:Observation:patient:code=1234-5` (reverse chaining): resources that a resource
    of another type, matching the last parameter, refers to through the named reference
    parameter. One level; only resources the requester may see count."""
    parts = (modifier or "").split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise _bad("_has takes _has:Type:reference:parameter=value")
    source, reference, name = parts[0], parts[1], parts[2]
    if not is_resource_type(source):
        raise _bad(f"_has names an unknown type {source!r}")
    definition = sp.params_for(source).get(reference)
    if definition is None or definition[0] != sp.REFERENCE:
        raise _bad(f"{source} has no reference parameter {reference!r}", "not-supported")
    if len(definition) > 2 and resource_type not in definition[2]:
        raise _bad(f"{source}.{reference} cannot refer to {resource_type}")
    if name == "_has" or "." in name:
        raise _bad("_has goes one level deep")
    inner = Resource.objects.filter(resource_type=source, deleted=False).filter(
        _param_filter(source, name, parts[3] if len(parts) == 4 else None, value)
    )
    referring = visible(inner, requester, source).values("pk")
    return Q(
        resource_id__in=ReferenceIndex.objects.filter(
            resource_id__in=referring, param=reference, target_type=resource_type
        ).values("target_id")
    )


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


def build_search(resource_type, params, requester=None, *, lenient=False):
    """Build a Search from [(name, value)] query parameters for one resource type.

    Raises FhirError(400) for unknown parameters, modifiers or malformed values (unknown
    parameters are left out instead under lenient handling, `Prefer: handling=lenient`),
    and Forbidden when the requester may not search the type at all.
    """
    if lenient:
        params = [(k, v) for k, v in params if is_known(resource_type, k)]
    qs = Resource.objects.filter(resource_type=resource_type, deleted=False)
    if requester is not None:
        limit = requester.compartment(resource_type, "s")
        if limit is not None:
            qs = qs.filter(patient_id__in=limit)
    search = Search(resource_type=resource_type, queryset=qs, count=default_count(), params=params)
    patient_scope = None if requester is None else requester.compartment(resource_type, "s")
    for key, value in params:
        check_value(key, value)
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
            else:
                shaping.take(search.shape, name, value)
                search.summary_count = search.shape.summary == "count"
            continue
        if name == "_has":
            qs = qs.filter(_has_filter(resource_type, modifier, value, requester))
            continue
        if "." in key:
            qs = qs.filter(_chain_filter(resource_type, key, value, requester))
            continue
        if name not in COMMON_PARAMS and name.startswith("_"):
            raise _bad(f"Search parameter {name} is not supported", "not-supported")
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


def resolve_includes(search, matches, requester=None, budget=None):
    """(resources named by _include and _revinclude for a page of matches, deduplicated;
    whether more were found than FHIR_MAX_INCLUDES or `budget` bytes allow)."""
    if not matches or not (search.includes or search.revincludes):
        return [], False
    seen = {(r.resource_type, r.resource_id) for r in matches}
    pks = [r.pk for r in matches]
    out = []
    limit = max_includes()
    budget = budget if budget is not None else max_page_bytes()
    size = 0

    def add(queryset):
        nonlocal size
        for resource in queryset[: limit - len(out) + 1].iterator(chunk_size=200):
            key = (resource.resource_type, resource.resource_id)
            if key in seen:
                continue
            if len(out) >= limit or size >= budget:
                return False
            seen.add(key)
            out.append(resource)
            size += len(resource.body or "")
        return True

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
            ).order_by("pk")
            if not add(visible(qs, requester, target_type)):
                return out, True
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
        if not add(visible(qs, requester, source)):
            return out, True
    return out, False


@dataclass
class Page:
    """One evaluated page of a search."""

    matches: list
    included: list
    # None when not counted (_total=none, or a caller that only wants a page).
    total: int | None
    # Whether more matches follow this page.
    more: bool
    # Whether _include/_revinclude found more than a page may carry.
    truncated: bool = False


def query_detail(params, total=None):
    """The audit row's detail for a search: its query, and how many were found."""
    query = "&".join(f"{k}={v}" for k, v in params)
    return (f"{query} ({total} found)" if total is not None else query)[:500]


def fetch(
    search, requester, *, count_total=None, action="search", detail=None, budget=None, rows=None
):
    """Evaluate a Search: the page at its offset, the resources it includes, the total
    (when the search asks for it, or `count_total` says so); audited as `action` on the
    requester's trail, one row per patient and type. `rows`: the page's window already read
    (search_pages() reads several in one statement).

    Memory stays bounded: rows are read in chunks, and a page stops early (`more` set, so
    the next link goes on from there) once its resources reach `budget` bytes
    (FHIR_MAX_PAGE_BYTES); includes stop at FHIR_MAX_INCLUDES (`Page.truncated`).
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
    budget = budget or max_page_bytes()
    matches, size, more = [], 0, False
    if search.count:
        if rows is None:
            rows = _window(search).iterator(chunk_size=200)
        for row in rows:
            if len(matches) == search.count or size >= budget:
                more = True
                break
            matches.append(row)
            size += len(row.body or "")
    else:
        more = bool(total)
    included, truncated = resolve_includes(search, matches, requester, budget=budget - size)
    audit.add_resources(
        action,
        matches + included,
        search.resource_type,
        detail=detail if detail is not None else query_detail(search.params, total),
    )
    page = Page(matches, included, total, more)
    page.truncated = truncated
    return page


def search_page(resource_type, params, requester, **options):
    """Build and evaluate a search of the store in one call (see build_search, fetch)."""
    return fetch(build_search(resource_type, params, requester), requester, **options)


def _window(search, queryset=None):
    # One row more than the page tells whether there is a next page without a count.
    queryset = search.queryset if queryset is None else queryset
    return queryset[search.offset : search.offset + search.count + 1]


def search_pages(searches, requester, **options):
    """Several searches of the store, [(resource_type, params)], evaluated as search_page()
    evaluates each and audited the same, their pages read in one statement where the
    database takes ordered, limited parts in one (PostgreSQL) and their orders agree
    (_together); one after the other otherwise. For a page that shows a few lists (My page's
    health panel). Returns their Pages in order."""
    built = [build_search(resource_type, params, requester) for resource_type, params in searches]
    order = _common_order(built)
    if order is None:
        return [fetch(s, requester, **options) for s in built]
    rows = _together(built, order)
    return [fetch(s, requester, rows=part, **options) for s, part in zip(built, rows, strict=True)]


def _common_order(built):
    """[(sort annotation, descending)] that orders every one of the searches as its own order
    does, or None when they cannot be read together: each must order by date annotations
    (_sort0, _sort1...: the first of the common ones, nulls last) then pk, a name one way in
    all."""
    if len(built) < 2 or not connection.features.supports_slicing_ordering_in_compound:
        return None
    order = {}
    for search in built:
        if search.summary_count or not search.count:
            return None
        *keys, last = search.queryset.query.order_by
        if getattr(last.expression, "name", None) != "pk" or last.descending:
            return None
        for key in keys:
            name = getattr(key.expression, "name", "")
            if (
                not name.startswith("_sort")
                or not key.nulls_last
                or order.setdefault(name, key.descending) != key.descending
            ):
                return None
    names = sorted(order, key=lambda name: int(name[len("_sort") :]))
    for search in built:
        # The same columns in the same places in every part: a search's own sort dates,
        # then those it has not, as NULL (_together).
        own = [n for n in search.queryset.query.annotations if n.startswith("_sort")]
        if own != names[: len(own)]:
            return None
    return [(name, order[name]) for name in names]


def _union(built, order):
    """The UNION ALL of the searches' windows, in the parts' order (see _together)."""
    parts = []
    for index, search in enumerate(built):
        missing = {
            name: Value(None, output_field=DateTimeField())
            for name, _descending in order
            if name not in search.queryset.query.annotations
        }
        parts.append(_window(search, search.queryset.annotate(**missing, _part=Value(index))))
    ordering = [F(n).desc(nulls_last=True) if d else F(n).asc(nulls_last=True) for n, d in order]
    return parts[0].union(*parts[1:], all=True).order_by("_part", *ordering, "id")


def _by_part(rows, count):
    """An iterator of the rows of each of `count` parts in turn (rows ordered by `_part`),
    empty for a part that found nothing."""
    groups = itertools.groupby(rows, key=lambda row: row._part)
    group = next(groups, None)
    for index in range(count):
        if group is not None and group[0] == index:
            yield group[1]
            group = next(groups, None)
        else:
            yield iter(())


def _together(built, order):
    """The rows of each Search's window, in its order, read in one statement (a UNION ALL of
    the windows, streamed in chunks: what a page holds in memory stays bounded as in
    fetch()): an iterator for each Search in turn, empty for one that found nothing."""
    return _by_part(_union(built, order).iterator(chunk_size=200), len(built))


# -- one patient's searches, their SQL built once per thread -----------------------------------

# How many linked records a requester's compartment may name for its searches to be prepared
# (each number is another statement kept; a larger compartment is searched as usual).
PREPARED_COMPARTMENT_LIMIT = 8
# Statements kept per thread (different searches, section limits, compartment sizes).
PREPARED_KEPT = 32


class _Marked:
    """Stands in for the requester while a prepared statement is built: its compartment for
    every type is the markers' (the patient's first)."""

    def __init__(self, compartment):
        self._compartment = compartment

    def compartment(self, resource_type, permission):
        return self._compartment


class _PreparedPages:
    """One statement of search_patient_pages(), built with markers in place of the patient and
    the requester's other linked records: the SQL, where each marker's values go, the
    Searches as built (for their counts and includes), and how a row becomes a Resource."""

    def __init__(self, alias, shape, compartment_size):
        token = uuid.uuid4().hex  # unguessable: no search value can equal a marker
        self.patient = f"patient-{token}"
        self.others = [f"other{n}-{token}" for n in range(1, compartment_size or 1)]
        compartment = None
        if compartment_size is not None:
            compartment = frozenset([self.patient, *self.others])
        requester = _Marked(compartment)
        self.built = [
            build_search(
                resource_type,
                [(k, self.patient if v is None else v) for k, v in params],
                requester,
            )
            for resource_type, params in shape
        ]
        order = _common_order(self.built)
        if order is None:
            raise _NotPrepared
        compiler = _union(self.built, order).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        markers = {self.patient, *self.others}
        self.sql = sql
        self.params = list(params)
        # How a row becomes a Resource (with `_part`), as the ORM builds it: portal.prepared.
        self.model_rows = ModelRows(compiler, alias)
        self.positions = []  # (index in params, marker)
        for index, value in enumerate(self.params):
            if type(value) is str and value in markers:
                self.positions.append((index, value))
            elif isinstance(value, str) and token in value:
                raise _NotPrepared  # a marker inside another value (a pattern): not ours to fill
        if not any(marker == self.patient for _index, marker in self.positions):
            raise _NotPrepared

    def rows(self, alias, values):
        """The statement's rows for these marker values, as Resources with `_part` (run as
        portal.prepared runs its statements: prepared on the PostgreSQL server)."""
        params = list(self.params)
        for index, marker in self.positions:
            params[index] = values[marker]
        return self.model_rows.instances(run(connections[alias], self.sql, params, fetch="all"))


class _NotPrepared(Exception):
    """These searches cannot be read with a prepared statement: search them as usual."""


_prepared = threading.local()


def _prepared_pages(alias, shape, compartment_size):
    kept = getattr(_prepared, "statements", None)
    if kept is None:
        kept = _prepared.statements = {}
    key = (alias, shape, compartment_size)
    if key not in kept:
        if len(kept) >= PREPARED_KEPT:
            kept.clear()
        try:
            kept[key] = _PreparedPages(alias, shape, compartment_size)
        except _NotPrepared:
            kept[key] = None
    return kept[key]


def search_patient_pages(searches, patient_id, requester, **options):
    """search_pages() for searches of one Patient's record, [(resource_type, params)] each
    with ("patient", patient_id) among its params: the same pages, audited the same. With
    `count_total=False`, searches of a fixed shape (My page's health panel) are read with a
    statement Django builds once per thread and database, with markers in place of the
    patient and the requester's linked records (building the SQL of six searches cost more
    CPU than running it), and fetched whole: a bounded read (each part is its window, at most
    `_count` + 1 rows), so no server-side cursor and its extra round trips. Searches that
    cannot be read so (SQLite, chains, `_has`, limits that differ by type, a compartment of
    more than PREPARED_COMPARTMENT_LIMIT records) are read by search_pages()."""
    prepared = None
    if options.get("count_total") is False:
        prepared, alias, values = _prepare(searches, patient_id, requester)
    if prepared is None:
        return search_pages(searches, requester, **options)
    parts = _by_part(prepared.rows(alias, values), len(searches))
    return [
        fetch(replace(search, params=list(params), queryset=None), requester, rows=part, **options)
        for search, (_type, params), part in zip(prepared.built, searches, parts, strict=True)
    ]


_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR's id syntax, as a marker is written


def _prepare(searches, patient_id, requester):
    """(the prepared statement, its database, its marker values) for these searches, or
    Nones when they are searched as usual."""
    nothing = None, None, None
    alias = router.db_for_read(Resource)
    if (
        not searches
        or not isinstance(patient_id, str)
        or not _ID.fullmatch(patient_id)
        or not connections[alias].features.supports_slicing_ordering_in_compound
    ):
        return nothing
    limits = set()
    shape = []
    for resource_type, params in searches:
        marked = []
        for key, value in params:
            if "." in key or key.startswith("_has"):
                return nothing  # chains read the requester's compartments for reading
            marked.append((key, None if key == "patient" and value == patient_id else value))
        if marked.count(("patient", None)) != 1:
            return nothing
        shape.append((resource_type, tuple(marked)))
        try:
            limits.add(requester.compartment(resource_type, "s"))
        except Forbidden:
            return nothing  # search_pages() refuses it as it always did
    if len(limits) != 1:
        return nothing
    (limit,) = limits
    if limit is not None and (patient_id not in limit or len(limit) > PREPARED_COMPARTMENT_LIMIT):
        return nothing
    prepared = _prepared_pages(alias, tuple(shape), None if limit is None else len(limit))
    if prepared is None:
        return nothing
    values = {prepared.patient: patient_id}
    others = sorted(limit - {patient_id}) if limit is not None else []
    values.update(zip(prepared.others, others, strict=True))
    return prepared, alias, values


def supported_params(resource_type):
    """(name, kind) of every search parameter the type supports, for the CapabilityStatement."""
    out = [("_id", sp.TOKEN), ("_lastUpdated", sp.DATE)]
    out += [(name, definition[0]) for name, definition in sp.params_for(resource_type).items()]
    return out
