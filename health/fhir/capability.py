"""The CapabilityStatement: generated from the same tables the code runs on, so it cannot
claim a parameter or interaction that the server does not implement."""

from django.utils import timezone

from . import operations, projections
from . import searchparams as sp
from .search import supported_params
from .validation import is_storable_type, resource_types
from .wire import format_instant

INSTANCE_AND_TYPE = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]

# Result parameters of the store's searches (search.py), not of booking's projections.
STORE_CONTROL_PARAMS = [
    {"name": "_offset", "type": "number"},
    {"name": "_sort", "type": "string"},
    {"name": "_include", "type": "special"},
    {"name": "_revinclude", "type": "special"},
    {"name": "_total", "type": "token"},
    {"name": "_summary", "type": "token"},
    {"name": "_elements", "type": "string"},
    {"name": "_has", "type": "special"},
]


# Providers of rest.security parts, registered by apps above this one (health.smart adds
# SMART App Launch): provider(base) -> {"service": [...], "extension": [...],
# "description": "..."}; each part is listed only because the app serving it is installed.
_SECURITY_PROVIDERS = []


def register_security(provider):
    if provider not in _SECURITY_PROVIDERS:
        _SECURITY_PROVIDERS.append(provider)
    return provider


def _security(base):
    security = {
        "description": (
            "Clinic staff by signed-in session; other systems by Bearer tokens "
            "issued by the district, with SMART scopes (patient/, user/, "
            "system/ with cruds permissions). Residents read their own "
            "patient compartment only."
        )
    }
    for provider in _SECURITY_PROVIDERS:
        part = provider(base)
        for key in ("service", "extension"):
            if part.get(key):
                security.setdefault(key, []).extend(part[key])
        if part.get("description"):
            security["description"] += " " + part["description"]
    return security


def _search_param(name, kind):
    param = {"name": name, "type": kind}
    if kind == sp.REFERENCE:
        param["documentation"] = f"Chains one level deep: {name}:Type.parameter=value"
    return param


def _includes(resource_type):
    return [
        f"{resource_type}:{name}"
        for name, definition in sp.params_for(resource_type).items()
        if definition[0] == sp.REFERENCE
    ]


def _revincludes(resource_type):
    out = []
    for source, params in sp.SEARCH_PARAMS.items():
        for name, definition in params.items():
            if definition[0] != sp.REFERENCE:
                continue
            targets = definition[2] if len(definition) > 2 else None
            if targets is None or resource_type in targets:
                out.append(f"{source}:{name}")
    return out


def capability_statement(base):
    """The server's CapabilityStatement as a dict."""
    resources = []
    for resource_type in resource_types():
        if not is_storable_type(resource_type) or projections.is_projected(resource_type):
            continue
        entry = {
            "type": resource_type,
            "interaction": [{"code": code} for code in INSTANCE_AND_TYPE],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchInclude": _includes(resource_type),
            "searchRevInclude": _revincludes(resource_type),
            "searchParam": [
                _search_param(name, kind) for name, kind in supported_params(resource_type)
            ]
            + STORE_CONTROL_PARAMS,
        }
        registered = operations.for_type(resource_type)
        if registered:
            entry["operation"] = [
                {"name": op.name, "definition": op.definition} for op in registered
            ]
        for key in ("searchInclude", "searchRevInclude"):
            if not entry[key]:
                del entry[key]
        resources.append(entry)
    for entry in projections.capability_entries():
        registered = operations.for_type(entry["type"])
        if registered:
            entry["operation"] = [
                {"name": op.name, "definition": op.definition} for op in registered
            ]
        resources.append(entry)
    resources.sort(key=lambda entry: entry["type"])
    rest_operations = [
        {"name": op.name, "definition": op.definition} for op in operations.system_operations()
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(timezone.now()),
        "publisher": "District Portal",
        "kind": "instance",
        "software": {"name": "District Portal FHIR store"},
        "implementation": {"description": "District Portal FHIR store", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": _security(base),
                "resource": resources,
                # Patient/X/Type searches (views.compartment_search).
                "compartment": ["http://hl7.org/fhir/CompartmentDefinition/patient"],
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
                # Only what every type takes: clinic booking's resources (projections.py)
                # are not paged, sorted or included like the store's.
                "searchParam": [{"name": "_count", "type": "number"}],
                **({"operation": rest_operations} if rest_operations else {}),
            }
        ],
    }


def warm_up():
    """Build the CapabilityStatement once, which imports every resource model (seconds of CPU).

    portal/wsgi.py calls it, so a web worker pays this before it takes requests, and with
    gunicorn's --preload the master pays it once for all workers. Without it, the first
    /fhir/metadata in each fresh worker did, long enough for several workers started at once
    to pass gunicorn's timeout and be killed, and their replacements started cold again.
    """
    capability_statement("http://localhost/fhir")
