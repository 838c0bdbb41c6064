"""Referential integrity: every local reference a write stores names a resource.

On create, update and in Bundles every local reference (references.py says which are local)
must name a resource that exists and that the writer may see (a resource in another
patient's compartment looks missing to a patient-limited client, so a 422 never tells it
that resource exists), or one the same Bundle creates. `urn:uuid:` references the Bundle
does not resolve, contained references to nothing and conditional references outside a
transaction are refused too. The answer is a 422 OperationOutcome naming the element.
"""

from . import projections
from .errors import FhirError
from .models import Resource
from .references import HTTP, element_of, parse_local, references_in
from .validation import is_resource_type


def unresolvable(reference, resource, root, reason):
    where = element_of(resource, reference, root)
    return FhirError(
        422,
        f"{where}: {reason}",
        code="invalid",
        expression=where,
    )


def check_resolvable(items, requester, *, pending=frozenset(), known=frozenset()):
    """Refuse (422) the first reference of [(resource dict, path)] that names nothing.

    `pending` holds `Type/id` of resources the same request creates; `known`, those an
    import run will create later (references to them are accepted and checked by the
    importer at the end of the run).
    """
    wanted = {}
    for resource, root in items:
        contained = {
            f"#{c.get('id')}"
            for c in resource.get("contained") or []
            if isinstance(c, dict) and c.get("id")
        }
        for reference in references_in(resource):
            if reference.startswith("#"):
                if reference != "#" and reference not in contained:
                    raise unresolvable(
                        reference, resource, root, f"no contained resource is {reference}"
                    )
                continue
            if reference.startswith("urn:"):
                raise unresolvable(
                    reference, resource, root, f"{reference} names no entry of the Bundle"
                )
            if "?" in reference and not reference.startswith(HTTP):
                raise unresolvable(
                    reference,
                    resource,
                    root,
                    "conditional references are resolved only in transaction Bundles",
                )
            parsed = parse_local(reference)
            if parsed is None:
                continue  # another server's resource
            rtype, rid = parsed
            key = f"{rtype}/{rid}"
            if key in pending or key in known:
                continue
            if not is_resource_type(rtype):
                raise unresolvable(reference, resource, root, f"{rtype} is not a resource type")
            wanted.setdefault(rtype, {}).setdefault(rid, (reference, resource, root))
    for rtype, ids in wanted.items():
        if projections.is_projected(rtype):
            for rid, (reference, resource, root) in ids.items():
                if not projections.exists(rtype, rid, requester):
                    raise unresolvable(reference, resource, root, f"{rtype}/{rid} is not known")
            continue
        rows = Resource.objects.filter(resource_type=rtype, deleted=False)
        limit = requester.patient_limit
        names = list(ids)
        found = set()
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            for rid, patient_id in rows.filter(resource_id__in=chunk).values_list(
                "resource_id", "patient_id"
            ):
                # Resources in no compartment (Practitioner, Organization) are no
                # patient's data; those in a compartment must be the writer's to see.
                if limit is None or not patient_id or patient_id in limit:
                    found.add(rid)
        for rid, (reference, resource, root) in ids.items():
            if rid in found or (
                projections.is_projected(rtype, rid) and projections.exists(rtype, rid, requester)
            ):
                continue
            raise unresolvable(reference, resource, root, f"{rtype}/{rid} is not known")
