"""Codes checked against the required bindings of the core types.

fhir.resources checks structure and primitive formats but not bindings. Its models do carry
the codes of each `code` element whose binding is required (`enum_values` in the field's
metadata, from the R4B definitions): this module walks a resource along its model and
refuses a code outside them. Where fhir.resources lists a value set only in part (its list
ends in "+"), R4's full value set is given here. Required bindings on CodeableConcepts carry
no codes in the models; the ones every clinical record uses are listed in CONCEPT_BINDINGS.
"""

import typing
from functools import cache

from fhir.resources.R4B import get_fhir_model_class

_OBSERVATION_STATUS = (
    "registered preliminary final amended corrected cancelled entered-in-error unknown"
)
# R4's codes for the value sets fhir.resources lists with a trailing "+".
COMPLETE = {
    ("Observation", "status"): _OBSERVATION_STATUS,
    ("DetectedIssue", "status"): _OBSERVATION_STATUS,
    ("RiskAssessment", "status"): _OBSERVATION_STATUS,
    ("DeviceUdiCarrier", "entryType"): "barcode rfid manual card self-reported unknown",
    ("DeviceUseStatement", "status"): (
        "active completed entered-in-error intended stopped on-hold"
    ),
    ("DiagnosticReport", "status"): (
        "registered partial preliminary final amended corrected appended cancelled "
        "entered-in-error unknown"
    ),
    ("Encounter", "status"): (
        "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown"
    ),
    ("EncounterStatusHistory", "status"): (
        "planned arrived triaged in-progress onleave finished cancelled entered-in-error unknown"
    ),
    ("QuestionnaireItem", "type"): (
        "group display boolean decimal integer date dateTime time string text url choice "
        "open-choice attachment reference quantity"
    ),
    ("StructureMapGroupRuleTarget", "transform"): (
        "create copy truncate escape cast append translate reference dateOp uuid pointer "
        "evaluate cc c qty id cp"
    ),
    ("SupplyRequest", "status"): (
        "draft active suspended cancelled completed entered-in-error unknown"
    ),
    **{
        (quantity, "comparator"): "< <= >= >"
        for quantity in ("Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity")
    },
    ("Task", "status"): (
        "draft requested received accepted rejected ready cancelled in-progress on-hold "
        "failed completed entered-in-error"
    ),
}

# Required bindings on CodeableConcepts: (system, codes). A coding of this system must use
# one of the codes (codings of other systems are translations and are left alone).
CONCEPT_BINDINGS = {
    ("Condition", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "active recurrence relapse inactive remission resolved",
    ),
    ("Condition", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "unconfirmed provisional differential confirmed refuted entered-in-error",
    ),
    ("AllergyIntolerance", "clinicalStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        "active inactive resolved",
    ),
    ("AllergyIntolerance", "verificationStatus"): (
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        "unconfirmed confirmed refuted entered-in-error",
    ),
}

_RESOURCE = "resource"  # a field holding any resource (contained, Bundle.entry.resource)


def model_in(annotation):
    """The fhir.resources model class an annotation leads to, or None for primitives."""
    stack = [annotation]
    while stack:
        item = stack.pop()
        klass = getattr(item, "get_model_klass", None)
        if klass is not None:
            return klass()
        stack.extend(typing.get_args(item))
    return None


@cache
def _plan(model):
    """{JSON key: (codes or None, concept binding or None, child model, any resource)} of
    the elements of a model class that hold a required binding or may lead to one."""
    plan = {}
    name = model.__name__
    for field_name, info in model.model_fields.items():
        if field_name.endswith("__ext") or field_name == "fhir_comments":
            continue
        extra = info.json_schema_extra or {}
        codes = None
        if (name, info.alias) in COMPLETE:
            codes = frozenset(COMPLETE[(name, info.alias)].split())
        elif extra.get("enum_values") and "+" not in extra["enum_values"]:
            codes = frozenset(extra["enum_values"])
        concept = CONCEPT_BINDINGS.get((name, info.alias))
        if concept is not None:
            concept = (concept[0], frozenset(concept[1].split()))
        child = model_in(info.annotation)
        any_resource = child is not None and child.__name__ in ("Resource", "DomainResource")
        if codes or concept or child is not None:
            plan[info.alias] = (codes, concept, None if any_resource else child, any_resource)
    return plan


@cache
def _model(resource_type):
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def code_issues(data, path, limit=20):
    """OperationOutcome issues for codes outside a required binding, anywhere in a resource
    (contained resources and Bundle entries included); [] when every code is allowed."""
    issues = []
    model = _model(data.get("resourceType", ""))
    if model is None:
        return issues
    stack = [(data, model, path)]
    while stack and len(issues) < limit:
        node, model, where = stack.pop()
        plan = _plan(model)
        for key, value in node.items():
            step = plan.get(key)
            if step is None:
                continue
            codes, concept, child, any_resource = step
            here = f"{where}.{key}"
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                at = f"{here}[{index}]" if isinstance(value, list) else here
                if codes is not None and isinstance(item, str) and item not in codes:
                    issues.append(_issue(at, f"{item!r} is not one of the codes allowed here"))
                elif concept is not None and isinstance(item, dict):
                    system, allowed = concept
                    for coding in item.get("coding") or []:
                        code = coding.get("code") if isinstance(coding, dict) else None
                        if coding.get("system") == system and code not in allowed:
                            issues.append(
                                _issue(at, f"{code!r} is not a code of {system} allowed here")
                            )
                if isinstance(item, dict):
                    target = _model(item.get("resourceType", "")) if any_resource else child
                    if target is not None:
                        stack.append((item, target, at))
    return issues


def _issue(expression, message):
    return {
        "severity": "error",
        "code": "code-invalid",
        "diagnostics": f"{expression}: {message} (required binding)",
        "expression": [expression],
    }
