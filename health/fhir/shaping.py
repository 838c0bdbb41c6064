"""The result parameters every read and search understands alike: `_format`, `_pretty`,
`_summary` and `_elements`.

- `_format`: JSON in any of its spellings; XML and anything else is a 406, on reads and
  searches alike (this server speaks JSON only).
- `_summary=true` keeps the elements R4 marks as summary elements, `text` the narrative
  with id, meta and the mandatory elements, `data` everything but the narrative, `false`
  everything; `count` (searches only) just the total.
- `_elements=a,b` keeps those top-level elements (with id, meta and resourceType).

A shaped resource is marked with the SUBSETTED tag, as FHIR requires, so no client takes it
for the whole resource (and writes it back).
"""

from dataclasses import dataclass
from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class

from .errors import FhirError, InvalidSearch
from .wire import dumps, loads

JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
SUMMARIES = {"true", "text", "data", "count", "false"}
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
_ALWAYS = ("resourceType", "id", "meta")


@dataclass
class Shape:
    summary: str = "false"
    elements: tuple = ()

    @property
    def whole(self):
        return self.summary in ("false", "count") and not self.elements


def take(shape, name, value):
    """Use one result parameter if it is one of these; False leaves it to the caller."""
    if name == "_format":
        check_format(value)
    elif name == "_pretty":
        if value not in ("true", "false"):
            raise InvalidSearch("_pretty must be true or false")
    elif name == "_summary":
        if value not in SUMMARIES:
            raise InvalidSearch("_summary must be true, text, data, count or false")
        shape.summary = value
    elif name == "_elements":
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        if not names or not all(n.replace("[x]", "").isalnum() for n in names):
            raise InvalidSearch("_elements takes element names separated by commas")
        shape.elements = shape.elements + names
    else:
        return False
    return True


def check_format(value):
    if value not in JSON_FORMATS:
        raise FhirError(
            406, f"_format={value} is not supported: this server speaks JSON", code="not-supported"
        )


def read_shape(params):
    """The Shape of a read (`_summary=count` means nothing there); 400 for any other
    parameter, as for searches."""
    shape = Shape()
    for name, value in params:
        if not take(shape, name, value):
            raise InvalidSearch(f"A read does not take the parameter {name}")
    if shape.summary == "count":
        raise InvalidSearch("_summary=count applies to searches only")
    return shape


@lru_cache(maxsize=512)
def _summary_elements(resource_type):
    """The top-level JSON names R4 marks as summary elements of a type (and mandatory
    ones, which a summary keeps as well)."""
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return frozenset()
    names = set()
    for info in model.model_fields.values():
        extra = info.json_schema_extra or {}
        if extra.get("summary_element_property") or extra.get("element_required"):
            names.add(info.alias)
            names.add(f"_{info.alias}")
    return frozenset(names)


@lru_cache(maxsize=512)
def _mandatory(resource_type):
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return frozenset()
    return frozenset(
        info.alias
        for info in model.model_fields.values()
        if (info.json_schema_extra or {}).get("element_required") or info.is_required()
    )


def _matches(key, wanted):
    """Whether a JSON key is one of the asked elements (choice types by their stem)."""
    bare = key.lstrip("_")
    for name in wanted:
        if name.endswith("[x]"):
            if bare.startswith(name[:-3]):
                return True
        elif bare == name:
            return True
    return False


def apply(shape, text):
    """The resource JSON text shaped as asked (the text itself when nothing is to change)."""
    if shape.whole:
        return text
    data = loads(text)
    rtype = data.get("resourceType", "")
    if shape.elements:
        wanted = set(shape.elements) | _mandatory(rtype)
        kept = {k: v for k, v in data.items() if k in _ALWAYS or _matches(k, wanted)}
    elif shape.summary == "true":
        allowed = _summary_elements(rtype)
        kept = {k: v for k, v in data.items() if k in _ALWAYS or k in allowed}
    elif shape.summary == "text":
        mandatory = _mandatory(rtype)
        kept = {k: v for k, v in data.items() if k in _ALWAYS or k == "text" or k in mandatory}
    else:  # data
        kept = {k: v for k, v in data.items() if k != "text"}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return dumps(kept)
