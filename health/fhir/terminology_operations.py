"""CodeSystem/$lookup, answered from the clinical terms table (health.terminology): the name
of a code in the language asked for with `displayLanguage`, and its names in every language
the table holds as designations. An unknown code is a 404 OperationOutcome."""

from health.terminology.models import Term
from health.terminology.services import LANGUAGES, TAGS, language_key, lookup

from .errors import FhirError
from .operations import register_operation

SUPPORTED = {"system", "code", "displayLanguage", "version", "coding", "property", "date"}


def _lookup_operation(call):
    params = {}
    for name, value in call.params:
        if name not in SUPPORTED:
            raise FhirError(400, f"$lookup does not support {name}", code="not-supported")
        if name in params:
            raise FhirError(400, f"$lookup takes one {name}", code="invalid", expression=name)
        params[name] = value
    if "coding" in params:
        raise FhirError(400, "$lookup takes system and code, not coding", code="not-supported")
    system, code = params.get("system"), params.get("code")
    if not system or not code:
        raise FhirError(400, "$lookup needs a system and a code", code="required")
    language = params.get("displayLanguage")
    key = language_key(language) if language else "en"
    if key is None:
        raise FhirError(
            400,
            f"displayLanguage {language[:40]!r} is not one of zh-Hant, zh-Hans, en",
            code="not-supported",
            expression="displayLanguage",
        )
    if "\x00" in system or "\x00" in code:
        raise FhirError(400, "system and code cannot contain NUL", code="invalid")
    # Longer than the table's columns: no such term can be there.
    fits = len(system) <= Term.system.field.max_length and len(code) <= Term.code.field.max_length
    term = lookup(system, code) if fits else None
    if term is None:
        raise FhirError(
            404,
            f"Code {code[:100]!r} is not known in {system[:200]}",
            code="not-found",
            expression="code",
        )
    parameters = [
        {"name": "name", "valueString": system},
        {"name": "display", "valueString": term.display(key) or term.display_en},
    ]
    for other in LANGUAGES:
        name = term.display(other)
        if name:
            parameters.append(
                {
                    "name": "designation",
                    "part": [
                        {"name": "language", "valueCode": TAGS[other]},
                        {"name": "value", "valueString": name},
                    ],
                }
            )
    return {"resourceType": "Parameters", "parameter": parameters}


register_operation(
    "lookup",
    _lookup_operation,
    resource_type="CodeSystem",
    definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
)
