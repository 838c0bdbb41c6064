"""Parsing and validating FHIR R4 JSON with fhir.resources' R4B models.

Every write goes through `validate_resource`. Errors become a FhirError with an
OperationOutcome whose `expression` names the element at fault (FHIRPath-like, e.g.
`Observation.code` or `Bundle.entry[3].resource.valueQuantity.value`).
"""

import re
from functools import cache, lru_cache

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B import resource as r4b_resource
from pydantic import ValidationError

from .bindings import code_issues, model_in
from .errors import FhirError
from .narrative import narrative_issues
from .wire import loads

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# Abstract or server-only types that may not be stored as resources of their own.
_NOT_STORABLE = {"Resource", "DomainResource", "OperationOutcome"}
# FHIR's limit on a string (1 MB); attachments' base64 `data` and narratives are exempt.
MAX_STRING = 1024 * 1024
_LONG_ALLOWED = {"data", "div"}


@lru_cache(maxsize=1)
def resource_types():
    """Every concrete R4B resource type name, sorted."""
    from fhir.resources.R4B import fhirtypes

    names = set()
    for attr in dir(fhirtypes):
        if not attr.endswith("Type") or not attr[:1].isupper():
            continue
        try:
            klass = get_fhir_model_class(attr[:-4])
        except ValueError:
            continue
        if isinstance(klass, type) and issubclass(klass, r4b_resource.Resource):
            names.add(attr[:-4])
    return tuple(sorted(names - {"Resource", "DomainResource"}))


def is_resource_type(name):
    return isinstance(name, str) and name in _type_set()


def is_storable_type(name):
    return is_resource_type(name) and name not in _NOT_STORABLE


@lru_cache(maxsize=1)
def _type_set():
    return frozenset(resource_types())


def parse_json(raw):
    """Decode a request body; anything that is not a JSON object is a 400 (so is JSON that
    nests too deep or holds an integer of thousands of digits). Decimals keep the exact
    text they were written with (wire.loads)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FhirError(400, "Body is not UTF-8", code="structure") from exc
    if not raw or not raw.strip():
        raise FhirError(400, "Body is empty", code="structure")
    data = loads(raw)
    if not isinstance(data, dict):
        raise FhirError(400, "Body must be a JSON object (a FHIR resource)", code="structure")
    return data


def _tree_is_clean(data, types):
    """Fast check, without paths, that no element is empty, every resourceType is known,
    no string is over-long and no extension carries a primitive extension (`_valueX`).

    Runs on every resource of every import; `_check_resource_types` (slower, with paths)
    only runs when this finds a problem, to say where it is.
    """
    stack = [data]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if type(node) is dict:
            if not node:
                return False
            rtype = node.get("resourceType")
            if rtype is not None and rtype not in types:
                return False
            for key, value in node.items():
                kind = type(value)
                if key.startswith("_value") and "url" in node:
                    return False  # a primitive extension inside an extension
                if kind is dict or kind is list:
                    push(value)
                elif (
                    value is None
                    or value == ""
                    or kind is str
                    and len(value) > MAX_STRING
                    and key not in _LONG_ALLOWED
                ):
                    return False
        else:
            if not node:
                return False
            for value in node:
                kind = type(value)
                if kind is dict or kind is list:
                    push(value)
                elif kind is str and len(value) > MAX_STRING:
                    return False
    return True


def _check_resource_types(data, path):
    """Find any unknown resourceType anywhere in the tree before pydantic sees it.

    fhir.resources raises a bare KeyError (not a ValidationError) for an unknown type inside
    `contained` or a Bundle entry, so it has to be caught here to answer 400, not 500.
    """
    if isinstance(data, dict):
        if "resourceType" in data:
            rtype = data["resourceType"]
            if not is_resource_type(rtype):
                raise FhirError(
                    400,
                    f"Unknown resource type {rtype!r} (this server speaks FHIR R4)",
                    code="not-supported",
                    expression=f"{path}.resourceType" if path else "resourceType",
                )
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if value is None or value == "" or value == [] or value == {}:
                # FHIR's ele-1: an element has a value or children; null and empty are errors.
                raise FhirError(422, f"{where} is empty or null", code="value", expression=where)
            if isinstance(value, str) and len(value) > MAX_STRING and key not in _LONG_ALLOWED:
                raise FhirError(
                    422,
                    f"{where} is longer than FHIR's limit of 1 MB for a string",
                    code="too-long",
                    expression=where,
                )
            if isinstance(value, dict | list):
                _check_resource_types(value, where)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            where = f"{path}[{i}]"
            if item is None or item == {} or item == []:
                raise FhirError(422, f"{where} is empty or null", code="value", expression=where)
            if isinstance(item, str) and len(item) > MAX_STRING:
                raise FhirError(
                    422,
                    f"{where} is longer than FHIR's limit of 1 MB for a string",
                    code="too-long",
                    expression=where,
                )
            if isinstance(item, dict | list):
                _check_resource_types(item, where)


def _without_primitive_extensions_of_extensions(data):
    """(copy for the model, [(path, primitive extension)]) with `_valueX` taken out of
    every Extension.

    Workaround: R4 lets an extension's primitive value carry extensions of its own
    (`"valueString": "...", "_valueString": {"extension": [...]}`, common in CodeSystems
    with translations), but fhir.resources' Extension model has no `_valueX` fields and
    refuses them as unknown. They are checked here as the Element they are, and the model
    validates the rest; the stored resource keeps them as written.
    """
    moved = []

    def strip(node, path):
        if isinstance(node, list):
            return [strip(item, f"{path}[{i}]") for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out = {}
        is_extension = "url" in node
        for key, value in node.items():
            if is_extension and key.startswith("_value"):
                moved.append((f"{path}.{key}", value))
                continue
            out[key] = strip(value, f"{path}.{key}") if isinstance(value, dict | list) else value
        return out

    copy = strip(data, "")
    return copy, moved


# -- validated elements, reused --------------------------------------------------------------
#
# Building fhir.resources' models is most of an import's validation cost, and most of a
# record's elements repeat: the same codings, categories, subject and encounter references
# in thousands of resources. An element (a complex value, such as a CodeableConcept) that
# has validated as its model once is valid wherever that model is expected, whatever
# resource holds it: the models' checks look only at the element itself. So the model
# instance built for it is kept, keyed by its model and its exact JSON text, and passed
# in place of the same element in later resources; pydantic accepts an instance of the
# field's own model as it is. Elements are only ever kept after the whole resource
# validated, so an invalid element is checked (and reported with its path) every time.

ELEMENT_CACHE_SIZE = 5000
# Larger elements (an attachment's data, a long note) are neither kept nor looked into: they
# seldom repeat, and the cache's memory stays bounded (ELEMENT_CACHE_SIZE keys of this size).
ELEMENT_MAX_TEXT = 2000
_elements = {}


@cache
def _children(model):
    """{JSON key: (attribute, model class)} of a model's complex elements (not resources:
    `contained` and Bundle entries hold resources of any type)."""
    out = {}
    for name, info in model.model_fields.items():
        child = model_in(info.annotation)
        if child is None or child.__name__ in ("Resource", "DomainResource"):
            continue
        if issubclass(child, r4b_resource.Resource):
            continue
        out[info.alias or name] = (name, child)
    return out


def _with_known_elements(node, model, fresh, trail):
    """`node` with every element validated before replaced by its model instance (a
    shallow copy; `node` is left as it is), or `node` itself when none is known. Elements
    not known yet are listed in `fresh` as (key, trail of attributes to their instance)."""
    plan = _children(model)
    out = None
    for key, value in node.items():
        step = plan.get(key)
        if step is None:
            continue
        name, child = step
        kind = type(value)
        if kind is dict:
            new = _known(value, child, fresh, (*trail, name))
        elif kind is list:
            new = [
                _known(item, child, fresh, (*trail, name, i)) if type(item) is dict else item
                for i, item in enumerate(value)
            ]
            if all(a is b for a, b in zip(new, value, strict=True)):
                new = value
        else:
            continue
        if new is not value:
            if out is None:
                out = dict(node)
            out[key] = new
    return node if out is None else out


def _known(element, model, fresh, trail):
    # repr() is exact for decoded JSON: it tells "1" from 1, 1 from True, and prints each
    # decimal as written (wire.ExactDecimal); and it costs far less than encoding JSON.
    text = repr(element)
    if len(text) > ELEMENT_MAX_TEXT:
        # Validated as it is, without looking inside: each nested element would be printed
        # again, which for a deep tree costs its depth times its size.
        return element
    key = (model, text)
    instance = _elements.get(key)
    if instance is not None:
        return instance
    fresh.append((key, trail))
    return _with_known_elements(element, model, fresh, trail)


def _keep_elements(instance, fresh):
    """Remember the instances of the elements that were validated for the first time."""
    if len(_elements) + len(fresh) > ELEMENT_CACHE_SIZE:
        _elements.clear()
    for key, trail in fresh:
        found = instance
        for step in trail:
            found = found[step] if type(step) is int else getattr(found, step)
        if isinstance(found, key[0]):
            _elements[key] = found


def _element_model():
    return get_fhir_model_class("Element")


def _expression(root, loc):
    parts = [root]
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def validate_resource(data, expected_type=None, path=None):
    """Validate one resource (a dict) against its R4B model; return it unchanged.

    `expected_type` is the type named by the URL; `path` prefixes the expressions in the
    OperationOutcome (used for Bundle entries).
    """
    if not isinstance(data, dict):
        raise FhirError(400, "A resource must be a JSON object", code="structure", expression=path)
    rtype = data.get("resourceType")
    where = path or rtype or "resource"
    if not rtype:
        raise FhirError(
            400, "Missing resourceType", code="required", expression=f"{where}.resourceType"
        )
    if not is_resource_type(rtype):
        raise FhirError(
            400,
            f"Unknown resource type {rtype!r} (this server speaks FHIR R4)",
            code="not-supported",
            expression=f"{where}.resourceType",
        )
    if rtype in _NOT_STORABLE:
        raise FhirError(400, f"{rtype} cannot be stored", code="not-supported", expression=where)
    if expected_type and rtype != expected_type:
        raise FhirError(
            400,
            f"Resource type {rtype} does not match the URL ({expected_type})",
            code="invalid",
            expression=f"{where}.resourceType",
        )
    if "id" in data and (not isinstance(data["id"], str) or not ID_RE.match(data["id"])):
        raise FhirError(400, "Invalid resource id", code="value", expression=f"{where}.id")
    model = get_fhir_model_class(rtype)
    # The resource with the elements validated before in place (see _with_known_elements):
    # the checks below skip them, as they passed every one of them already.
    fresh = []
    try:
        known = _with_known_elements(data, model, fresh, ())
    except RecursionError:
        raise FhirError(422, f"{where}: nested too deeply", code="structure") from None
    checked, moved = known, []
    if not _tree_is_clean(known, _type_set()):
        _check_resource_types(data, where)
        known, moved = _without_primitive_extensions_of_extensions(data)
        checked = data
        fresh = []  # nothing is kept from a resource that needed the workaround
    try:
        instance = model.model_validate(known)
        for sub_path, element in moved:
            if not isinstance(element, dict):
                raise FhirError(
                    422,
                    f"{where}{sub_path} must be an object",
                    code="structure",
                    expression=f"{where}{sub_path}",
                )
            _element_model().model_validate(element)
    except ValidationError as exc:
        issues = []
        for err in exc.errors()[:20]:
            expression = _expression(where, err.get("loc", ()))
            issues.append(
                {
                    "severity": "error",
                    "code": "required" if err.get("type") == "missing" else "value",
                    "diagnostics": f"{expression}: {err.get('msg')}",
                    "expression": [expression],
                }
            )
        raise FhirError(422, issues[0]["diagnostics"], issues=issues) from exc
    except (KeyError, TypeError, ValueError) as exc:
        # Defence in depth: fhir_core raises plain errors for some malformed nested input.
        raise FhirError(422, f"{where}: invalid content ({exc})", code="value") from exc
    except RecursionError:
        raise FhirError(422, f"{where}: nested too deeply", code="structure") from None
    issues = code_issues(checked, where) + narrative_issues(checked, where)
    if issues:
        raise FhirError(422, issues[0]["diagnostics"], issues=issues)
    _keep_elements(instance, fresh)
    return data
