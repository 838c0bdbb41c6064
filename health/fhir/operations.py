"""FHIR operations ($name): a registry that the API routes and the CapabilityStatement reads.

An operation is registered once, by the module that implements it (this layer's
patient_operations.py; other apps from their AppConfig.ready, e.g. a terminology app's
`CodeSystem/$lookup`), and is then reachable at

- `[base]/$name` (system level: `resource_type=None`),
- `[base]/Type/$name` (type level) or `[base]/Type/id/$name` (`instance=True`),

with GET (query parameters) or POST (a Parameters resource, or form fields). The handler
gets an `OperationCall` and returns a dict or JSON text; it reads through the store with
`call.requester`, so access rules and the audit trail apply as for any other read.
"""

from dataclasses import dataclass, field

from .errors import FhirError, NotFound

# Parameters that only shape the response (handled by the API itself).
RESULT_PARAMS = {"_format", "_pretty"}


@dataclass(frozen=True)
class Operation:
    name: str
    handler: object
    resource_type: str | None
    instance: bool
    definition: str
    # Whether the operation changes data (then GET is refused, as FHIR requires).
    affects_state: bool = False


@dataclass
class OperationCall:
    operation: Operation
    requester: object
    base: str
    resource_type: str | None = None
    resource_id: str | None = None
    # [(name, value)] from the query string or the Parameters body, in order.
    params: list = field(default_factory=list)
    # The POSTed resource, when it was not a Parameters resource.
    body: dict | None = None


_REGISTRY = {}


def register_operation(
    name, handler, *, resource_type=None, instance=False, definition, affects_state=False
):
    """Make `handler(call)` answer `$name` on a type (or instance, or the system)."""
    key = (resource_type, instance, name)
    operation = Operation(name, handler, resource_type, instance, definition, affects_state)
    if _REGISTRY.get(key, operation) != operation:
        raise ValueError(f"${name} is registered twice for {resource_type or 'the system'}")
    _REGISTRY[key] = operation
    return operation


def find(name, resource_type=None, instance=False):
    """The registered operation, or NotFound (an unknown operation is a 404 like an
    unknown endpoint)."""
    operation = _REGISTRY.get((resource_type, instance, name))
    if operation is None:
        where = resource_type or "the server"
        if instance:
            where = f"a {resource_type} instance"
        raise NotFound(f"Unknown operation ${name} on {where}")
    return operation


def for_type(resource_type):
    """The operations registered on a type (type and instance level), by name."""
    return sorted(
        (op for (rtype, _instance, _name), op in _REGISTRY.items() if rtype == resource_type),
        key=lambda op: (op.name, op.instance),
    )


def system_operations():
    return for_type(None)


def _scalar(parameter):
    for key, value in parameter.items():
        if key.startswith("value"):
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, str | int | float):
                return str(value)
    return None


def parameters_pairs(body):
    """[(name, value)] of a Parameters resource's simple parameters (400 for others)."""
    pairs = []
    for index, parameter in enumerate(body.get("parameter") or []):
        where = f"Parameters.parameter[{index}]"
        name = parameter.get("name") if isinstance(parameter, dict) else None
        value = _scalar(parameter) if isinstance(parameter, dict) else None
        if not isinstance(name, str) or value is None:
            raise FhirError(
                400,
                f"{where} must have a name and a simple value[x]",
                code="not-supported",
                expression=where,
            )
        pairs.append((name, value))
    return pairs


def call(
    operation, requester, base, *, method, params, body=None, resource_type=None, resource_id=None
):
    """Run a registered operation; returns its dict or JSON text."""
    if method == "GET" and operation.affects_state:
        raise FhirError(405, f"${operation.name} changes data: use POST", code="not-supported")
    pairs = [(k, v) for k, v in params if k not in RESULT_PARAMS]
    extra = None
    if body is not None:
        if body.get("resourceType") == "Parameters":
            pairs += parameters_pairs(body)
        else:
            extra = body
    return operation.handler(
        OperationCall(
            operation=operation,
            requester=requester,
            base=base,
            resource_type=resource_type,
            resource_id=resource_id,
            params=pairs,
            body=extra,
        )
    )
