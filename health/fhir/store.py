"""The FHIR store's write and read path: versions, history and the search index.

Every function that writes does it in one transaction: the current row, the history row,
all index rows and the audit row commit together or not at all. Functions take a
`requester` (access.Requester): its scopes and patient compartment are enforced here, and
every read and write is audited on its trail (audit.py), so views, Bundles, the importer,
staff forms and other apps share one rule and cannot forget the audit. Without a requester
the caller is the server itself (`access.system_requester()`), audited as such.
"""

import hashlib
import uuid
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

import jsonpatch
import jsonpointer

from . import searchparams as sp
from .access import system_requester
from .errors import FhirError, Forbidden, Gone, NotFound, PreconditionFailed
from .integrity import check_resolvable
from .models import (
    ConditionalCreateKey,
    DateIndex,
    QuantityIndex,
    ReferenceIndex,
    Resource,
    ResourceVersion,
    StringIndex,
    TokenIndex,
)
from .validation import ID_RE, validate_resource
from .wire import dumps, format_instant, loads, parse_etag

INDEX_MODELS = {
    sp.TOKEN: TokenIndex,
    sp.STRING: StringIndex,
    sp.DATE: DateIndex,
    sp.REFERENCE: ReferenceIndex,
    sp.QUANTITY: QuantityIndex,
}

BULK_BATCH = 500


def max_bundle_entries():
    return settings.FHIR_MAX_BUNDLE_ENTRIES


def new_id():
    """A server-assigned logical id (a random UUID, so bulk inserts never collide)."""
    return str(uuid.uuid4())


def _who(requester):
    """The requester, or the server itself for internal callers."""
    return requester if requester is not None else system_requester()


@dataclass
class WriteResult:
    resource: Resource
    created: bool
    # The resource existed already (conditional create matched): nothing was written.
    matched: bool = False

    @property
    def status(self):
        return 201 if self.created else 200


def _stamp(body, resource_type, resource_id, version_id, when):
    """The stored JSON text: the body with id and meta.versionId/lastUpdated set by us."""
    stamped = {"resourceType": resource_type, "id": resource_id}
    stamped.update((k, v) for k, v in body.items() if k not in ("resourceType", "id", "meta"))
    meta = dict(body.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = format_instant(when)
    stamped["meta"] = meta
    return dumps(stamped)


# Columns after (resource_id, resource_type, param) for each index table, in the order
# searchparams.extract_index yields them.
INDEX_COLUMNS = {
    sp.TOKEN: ("system", "code"),
    sp.STRING: ("value", "exact"),
    sp.DATE: ("start", "end"),
    sp.REFERENCE: ("target_type", "target_id"),
    sp.QUANTITY: ("value", "system", "code"),
}


def insert_rows(model, columns, rows):
    """Insert plain tuples into a model's table as fast as the database allows.

    PostgreSQL gets COPY, which avoids building and parsing one huge INSERT per batch (the
    main cost of a whole-patient Bundle); other databases get executemany.
    """
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The raw psycopg cursor: its errors are turned into Django's (IntegrityError on
            # a clash) by hand, so callers can catch them as for any other query.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            # Through the fields' own conversion, so datetimes and decimals are stored in
            # exactly the format the ORM compares against on this backend.
            fields = [model._meta.get_field(c) for c in columns]
            prepared = [
                [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                for row in rows
            ]
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for i in range(0, len(prepared), BULK_BATCH):
                cursor.executemany(sql, prepared[i : i + BULK_BATCH])


def _write_index(pairs):
    """Insert the index rows of [(Resource, body dict)]: one bulk insert per index table.

    Rows of all the resources are collected first, so a whole Bundle costs one insert per
    table however many resources it holds.
    """
    collected = {kind: [] for kind in INDEX_MODELS}
    for resource, body in pairs:
        head = (resource.pk, resource.resource_type)
        for kind, entries in sp.extract_index(resource.resource_type, body).items():
            if not entries:
                continue
            if kind == sp.TOKEN:
                tail = (resource.patient_id,)
                collected[kind].extend(head + entry + tail for entry in entries)
            else:
                collected[kind].extend(head + entry for entry in entries)
    for kind, rows in collected.items():
        columns = ("resource", "resource_type", "param", *INDEX_COLUMNS[kind])
        if kind == sp.TOKEN:
            columns += ("patient_id",)
        insert_rows(INDEX_MODELS[kind], columns, rows)


def _reserve_ids(model, count):
    """Take `count` primary keys from the table's sequence (PostgreSQL), for COPY."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _clear_index(resource):
    for model in INDEX_MODELS.values():
        model.objects.filter(resource=resource).delete()


def check_write(requester, resource_type, permission, *patient_ids):
    """Raise Forbidden unless the requester may write into all the given compartments."""
    if requester is None:
        return
    limit = requester.compartment(resource_type, permission)
    if limit is None:
        return
    outside = {pid for pid in patient_ids if pid not in limit}
    if not outside:
        return
    # Staff limited to their clinics' patients may write into the compartment of a Patient
    # they are creating (no Patient of that id exists yet, deleted or not); it opens to them.
    if (
        requester.may_admit()
        and not Resource.objects.filter(resource_type="Patient", resource_id__in=outside).exists()
    ):
        requester.admit(outside)
        return
    raise Forbidden("The resource is outside the patient compartment this client may write")


def _insert(resource_type, resource_id, body, method="POST"):
    when = timezone.now()
    text = _stamp(body, resource_type, resource_id, 1, when)
    resource = Resource.objects.create(
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=1,
        last_updated=when,
        body=text,
        patient_id=sp.patient_compartment(resource_type, resource_id, body),
    )
    ResourceVersion.objects.create(
        current=resource,
        patient_id=resource.patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=1,
        last_updated=when,
        body=None,  # the current version's body lives on the Resource row only
        method=method,
    )
    _write_index([(resource, body)])
    return resource


def criteria_hash(resource_type, criteria, patient_id=""):
    """A stable key for If-None-Exist criteria: parameters sorted, values unchanged, and
    the patient compartment the new resource is written in. Criteria are matched only
    among what the writer may see, so the same criteria in two patients' records are two
    keys: one patient's client never collides with (and so never learns of) another's."""
    pairs = sorted(parse_qsl(criteria.lstrip("?"), keep_blank_values=True))
    normal = urlencode(pairs)
    key = f"{resource_type}?{normal}#{patient_id}"
    return hashlib.sha256(key.encode()).hexdigest(), normal


def find_matches(resource_type, criteria, requester=None, limit=2):
    """Resources of a type matching search criteria (a query string); at most `limit`."""
    from .search import build_search

    params = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
    if not params:
        raise FhirError(400, "Conditional criteria are empty", code="invalid")
    for name, _value in params:
        if name.startswith("_") and name not in ("_id", "_lastUpdated"):
            raise FhirError(400, f"{name} cannot be used in conditional criteria", code="invalid")
    search = build_search(resource_type, params, requester)
    return list(search.queryset.order_by("pk")[:limit])


def create_resource(
    resource_type,
    body,
    *,
    requester=None,
    if_none_exist=None,
    validated=False,
    resource_id=None,
    detail="",
    references_checked=False,
):
    """Create a resource with a server-assigned id (POST).

    With `if_none_exist` (search criteria) this is FHIR's conditional create: an existing
    single match is returned unchanged (200), several matches are a 412, none creates (201).
    The criteria are claimed through a unique row (ConditionalCreateKey), so concurrent
    requests with the same criteria create exactly one resource.
    """
    requester = _who(requester)
    if not validated:
        validate_resource(body, resource_type)
    patient = sp.patient_compartment(resource_type, "", body)
    check_write(requester, resource_type, "c", patient)
    if not references_checked:
        check_resolvable([(body, resource_type)], requester)
    resource_id = resource_id or new_id()
    with transaction.atomic(), requester.audit.writing() as audit:
        if not if_none_exist:
            result = WriteResult(_insert(resource_type, resource_id, body), created=True)
        else:
            result = _conditional_create(resource_type, resource_id, body, if_none_exist, requester)
        resource = result.resource
        if result.created:
            if resource_type == "Patient":
                requester.admit([resource.resource_id])
            audit.add(
                "create", resource_type, resource.resource_id, resource.patient_id, detail=detail
            )
        else:
            audit.add(
                "read",
                resource_type,
                resource.resource_id,
                resource.patient_id,
                detail="If-None-Exist match",
            )
        return result


def _conditional_create(resource_type, resource_id, body, criteria, requester):
    matches = find_matches(resource_type, criteria, requester)
    if len(matches) > 1:
        raise PreconditionFailed(f"If-None-Exist criteria match several {resource_type} resources")
    if matches:
        return WriteResult(matches[0], created=False, matched=True)
    # The compartment the body names (a new Patient's own id is not known to the others).
    digest, normal = criteria_hash(
        resource_type, criteria, sp.patient_compartment(resource_type, "", body)
    )
    try:
        with transaction.atomic():
            resource = _insert(resource_type, resource_id, body)
            ConditionalCreateKey.objects.create(
                resource_type=resource_type,
                criteria_hash=digest,
                criteria=normal,
                resource=resource,
            )
            return WriteResult(resource, created=True)
    except IntegrityError:
        # Another request claimed the same criteria and committed first: answer with its
        # resource, as if this request had arrived second.
        matches = find_matches(resource_type, criteria, requester)
        if len(matches) == 1:
            return WriteResult(matches[0], created=False, matched=True)
        raise FhirError(
            409, "A concurrent conditional create is in progress; retry", code="conflict"
        ) from None


def update_resource(
    resource_type,
    resource_id,
    body,
    *,
    requester=None,
    if_match=None,
    validated=False,
    detail="",
    references_checked=False,
):
    """Update (PUT) a resource, creating it with the client's id if it does not exist.

    `if_match` is the If-Match header: a stale version is a 412 and nothing changes.
    `detail` goes on the audit row (why the change was made, e.g. "entered-in-error").
    """
    requester = _who(requester)
    if not ID_RE.match(resource_id or ""):
        raise FhirError(400, "Invalid resource id", code="value")
    if not validated:
        validate_resource(body, resource_type)
    check_update_body(resource_type, resource_id, body)
    expected = None
    if if_match is not None:
        expected = parse_etag(if_match)
        if expected is None:
            raise FhirError(400, 'If-Match must be a version ETag such as W/"3"', code="value")
    new_patient = sp.patient_compartment(resource_type, resource_id, body)
    if not references_checked:
        check_resolvable([(body, resource_type)], requester)
    with transaction.atomic(), requester.audit.writing() as audit:
        result = _update(resource_type, resource_id, body, requester, expected, new_patient)
        resource = result.resource
        audit.add(
            "create" if result.created else "update",
            resource_type,
            resource_id,
            resource.patient_id,
            detail=detail,
        )
        return result


def _update(resource_type, resource_id, body, requester, expected, new_patient):
    current = (
        Resource.objects.select_for_update()
        .filter(resource_type=resource_type, resource_id=resource_id)
        .first()
    )
    if requester.patient_limit is not None and (
        current is None or not requester.may_see(resource_type, current.patient_id, "r")
    ):
        # A client limited to patients' records may not choose ids: a PUT to an id that is
        # free and one to another patient's resource must look the same (404), or the
        # answer would tell it that resource exists.
        requester.compartment(resource_type, "u")  # 403 without the scope at all
        raise NotFound(
            f"{resource_type}/{resource_id} is not known (clients limited to a patient's "
            "record create resources with POST)"
        )
    if current is None:
        if expected is not None:
            raise PreconditionFailed(f"{resource_type}/{resource_id} does not exist")
        check_write(requester, resource_type, "c", new_patient)
        try:
            with transaction.atomic():
                return WriteResult(
                    _insert(resource_type, resource_id, body, method="PUT"), created=True
                )
        except IntegrityError:
            # Created concurrently by another request: update that one instead.
            current = (
                Resource.objects.select_for_update()
                .filter(resource_type=resource_type, resource_id=resource_id)
                .get()
            )
    check_write(requester, resource_type, "u", current.patient_id, new_patient)
    if expected is not None and int(expected) != current.version_id:
        raise PreconditionFailed(
            f"Version conflict: If-Match {expected}, current version {current.version_id}"
        )
    was_deleted = current.deleted
    return WriteResult(_new_version(current, body, new_patient, method="PUT"), created=was_deleted)


def check_update_body(resource_type, resource_id, body):
    """The body of an update must carry the id the URL names (400 otherwise)."""
    if body.get("id") is None:
        raise FhirError(
            400,
            "The resource must have an id for update",
            code="required",
            expression=f"{resource_type}.id",
        )
    if body.get("id") != resource_id:
        raise FhirError(
            400,
            f"Resource id {body.get('id')!r} does not match the URL id {resource_id!r}",
            code="invalid",
            expression=f"{resource_type}.id",
        )


def conditional_update(
    resource_type, criteria, body, *, requester=None, validated=False, references_checked=False
):
    """PUT Type?criteria: update the single match, create when none, 412 when several."""
    requester = _who(requester)
    if not validated:
        validate_resource(body, resource_type)
    if not references_checked:
        check_resolvable([(body, resource_type)], requester)
    with transaction.atomic():
        matches = find_matches(resource_type, criteria, requester)
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria match several {resource_type} resources")
        if matches:
            resource_id = matches[0].resource_id
            if body.get("id") not in (None, resource_id):
                raise FhirError(
                    400,
                    "The resource id does not match the resource the criteria found",
                    code="invalid",
                    expression=f"{resource_type}.id",
                )
        else:
            resource_id = body.get("id") or new_id()
        body = {**body, "id": resource_id}
        if not matches and requester.patient_limit is not None:
            # No match creates the resource, with an id the server chooses.
            return create_resource(
                resource_type,
                {k: v for k, v in body.items() if k != "id"},
                requester=requester,
                validated=True,
                references_checked=True,
            )
        return update_resource(
            resource_type,
            resource_id,
            body,
            requester=requester,
            validated=True,
            references_checked=True,
        )


def _new_version(current, body, patient_id, method):
    when = timezone.now()
    version = current.version_id + 1
    text = (
        None
        if body is None
        else _stamp(body, current.resource_type, current.resource_id, version, when)
    )
    if current.body is not None:
        # The version being superseded gets its body now; until then it lived only on
        # the current row (written once, not twice, on the import path).
        ResourceVersion.objects.filter(current=current, version_id=current.version_id).update(
            body=current.body
        )
    current.version_id = version
    current.last_updated = when
    current.body = text
    current.deleted = body is None
    current.patient_id = patient_id
    current.save(update_fields=["version_id", "last_updated", "body", "deleted", "patient_id"])
    ResourceVersion.objects.create(
        current=current,
        patient_id=patient_id,
        resource_type=current.resource_type,
        resource_id=current.resource_id,
        version_id=version,
        last_updated=when,
        body=None,
        deleted=body is None,
        method=method,
    )
    _clear_index(current)
    ConditionalCreateKey.objects.filter(resource=current).delete()
    if body is not None:
        _write_index([(current, body)])
    return current


def delete_resource(resource_type, resource_id, *, requester=None):
    """Delete a resource: a new, empty version; later reads answer 410 Gone.

    Returns the Resource, or None when it was already deleted. Unknown ids raise NotFound.
    """
    requester = _who(requester)
    with transaction.atomic(), requester.audit.writing() as audit:
        current = (
            Resource.objects.select_for_update()
            .filter(resource_type=resource_type, resource_id=resource_id)
            .first()
        )
        if current is None or not requester.may_see(resource_type, current.patient_id, "r"):
            requester.compartment(resource_type, "d")  # 403 without the scope at all
            raise NotFound()
        check_write(requester, resource_type, "d", current.patient_id)
        if current.deleted:
            return None
        # The compartment is kept on the tombstone so access rules still apply to it.
        deleted = _new_version(current, None, current.patient_id, method="DELETE")
        audit.add("delete", resource_type, resource_id, deleted.patient_id)
        return deleted


def patch_resource(resource_type, resource_id, patch, *, requester=None, if_match=None):
    """Apply a JSON Patch (RFC 6902) to the current version: a new version, validated and
    audited like an update. `if_match` guards against a stale version (412); without it
    the patch still applies to the version it was computed on, never a later one.

    A patch that does not apply (a `test` that fails, a path that is not there) is a 422;
    one that changes the id, or makes the resource invalid, is refused like an update."""
    requester = _who(requester)
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise FhirError(400, "A JSON Patch is a list of operations", code="structure")
    with transaction.atomic(), requester.audit.writing():
        current = visible_row(resource_type, resource_id, requester=requester)
        if current.deleted:
            raise Gone(f"{resource_type}/{resource_id} has been deleted")
        requester.compartment(resource_type, "u")
        try:
            patched = jsonpatch.JsonPatch(patch).apply(loads(current.body))
        except jsonpatch.InvalidJsonPatch as exc:
            raise FhirError(400, f"Not a valid JSON Patch: {exc}", code="structure") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise FhirError(422, f"The patch does not apply: {exc}", code="processing") from None
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise FhirError(400, f"Not a valid JSON Patch: {exc}", code="structure") from None
        if not isinstance(patched, dict) or patched.get("resourceType") != resource_type:
            raise FhirError(422, "A patch may not change the resource type", code="processing")
        # meta.versionId and lastUpdated are stamped again by the write, whatever it says.
        version = if_match if if_match is not None else f'W/"{current.version_id}"'
        return update_resource(
            resource_type, resource_id, patched, requester=requester, if_match=version
        )


def conditional_delete(resource_type, criteria, *, requester=None):
    """DELETE Type?criteria: delete the single match (None when there is none, as for a
    resource already gone); several matches are a 412, so a too-broad query deletes
    nothing."""
    requester = _who(requester)
    with transaction.atomic():
        matches = find_matches(resource_type, criteria, requester)
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria match several {resource_type} resources")
        if not matches:
            requester.compartment(resource_type, "d")  # 403 without the scope at all
            return None
        return delete_resource(resource_type, matches[0].resource_id, requester=requester)


def read_resource(resource_type, resource_id, *, requester=None, detail=""):
    """The current version (audited); NotFound if absent or not visible, Gone if deleted."""
    requester = _who(requester)
    resource = visible_row(resource_type, resource_id, requester=requester)
    if resource.deleted:
        raise Gone(f"{resource_type}/{resource_id} has been deleted")
    requester.audit.add("read", resource_type, resource_id, resource.patient_id, detail=detail)
    return resource


def visible_row(resource_type, resource_id, *, requester=None):
    """The current row, deleted or not, without reading its content (not audited);
    NotFound if absent or not visible."""
    requester = _who(requester)
    requester.compartment(resource_type, "r")
    resource = Resource.objects.filter(resource_type=resource_type, resource_id=resource_id).first()
    if resource is None or not requester.may_see(resource_type, resource.patient_id, "r"):
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    return resource


def read_version(resource_type, resource_id, version_id, *, requester=None):
    """One version (vread, audited); NotFound if absent or not visible, Gone for a delete
    version."""
    requester = _who(requester)
    resource = visible_row(resource_type, resource_id, requester=requester)
    if not str(version_id).isdigit():
        raise NotFound("Version ids are numbers")
    version = ResourceVersion.objects.filter(current=resource, version_id=int(version_id)).first()
    if version is None or not requester.may_see(resource_type, version.patient_id, "r"):
        raise NotFound(f"{resource_type}/{resource_id} has no version {version_id}")
    version.current = resource  # version.text reads the current body from it
    if version.deleted:
        raise Gone(f"Version {version_id} of {resource_type}/{resource_id} is a deletion")
    requester.audit.add("vread", resource_type, resource_id, resource.patient_id)
    return version


def history_queryset(resource_type=None, resource_id=None, *, requester=None, since=None):
    """Versions newest first, limited to what the requester may read (not audited: see
    `history`)."""
    requester = _who(requester)
    qs = ResourceVersion.objects.all()
    if resource_type:
        qs = qs.filter(resource_type=resource_type)
        limit = requester.compartment(resource_type, "r")
    else:
        limit = requester.compartment("*", "r")
    if limit is not None:
        qs = qs.filter(patient_id__in=limit)
    if resource_id:
        qs = qs.filter(resource_id=resource_id)
    if since is not None:
        qs = qs.filter(last_updated__gte=since)
    return qs.order_by("-last_updated", "-pk")


def history(resource_type=None, resource_id=None, *, requester=None, since=None, offset=0, count):
    """(total, one page of versions newest first) of the system, a type or one resource;
    audited under the compartment each version was written in: whose data was read."""
    requester = _who(requester)
    resource = None
    if resource_id is not None:
        resource = visible_row(resource_type, resource_id, requester=requester)
    qs = history_queryset(resource_type, resource_id, requester=requester, since=since)
    total = qs.count()
    versions = list(qs.select_related("current")[offset : offset + count]) if count else []
    audit = requester.audit
    with audit.collecting():
        for version in versions:
            if version.patient_id:
                audit.add_many("history", version.resource_type, version.patient_id)
        if resource is not None:
            audit.add("history", resource_type, resource_id, resource.patient_id)
    return total, versions


class CreatedRow(NamedTuple):
    """A resource written by `bulk_create` (the attributes of Resource that callers read)."""

    pk: int
    resource_type: str
    resource_id: str
    version_id: int
    last_updated: object
    patient_id: str

    @property
    def reference(self):
        return f"{self.resource_type}/{self.resource_id}"


RESOURCE_COLUMNS = (
    "id",
    "resource_type",
    "resource_id",
    "version_id",
    "last_updated",
    "body",
    "deleted",
    "patient_id",
)
VERSION_COLUMNS = (
    "current",
    "resource_type",
    "resource_id",
    "version_id",
    "last_updated",
    "body",
    "deleted",
    "method",
    "patient_id",
)


def bulk_create(items, patient_ids=None, *, requester=None):
    """Create many new resources at once: [(resource_type, resource_id, body, method)].

    Used by transaction Bundles and the importer for entries that create resources: fresh
    UUIDs, or client ids the caller has just checked are free. A handful of bulk inserts
    replace several queries per resource; a clash on an id still fails through the unique
    constraint (an IntegrityError), so a caller that races others can fall back to one by
    one. `patient_ids`, when the caller has them already, are the resources' compartments
    in the same order. Audited like single writes, new ids folded into one row per type
    and patient. Returns a CreatedRow per item, in order.
    """
    requester = _who(requester)
    when = timezone.now()
    if patient_ids is None:
        patient_ids = [sp.patient_compartment(t, i, body) for t, i, body, _m in items]
    texts = [_stamp(body, t, i, 1, when) for (t, i, body, _m) in items]
    with transaction.atomic(), requester.audit.writing() as audit:
        if connection.vendor == "postgresql":
            pks = _reserve_ids(Resource, len(items))
            insert_rows(
                Resource,
                RESOURCE_COLUMNS,
                [
                    (pk, item[0], item[1], 1, when, text, False, patient)
                    for pk, item, text, patient in zip(pks, items, texts, patient_ids, strict=True)
                ],
            )
        else:
            objects = Resource.objects.bulk_create(
                [
                    Resource(
                        resource_type=item[0],
                        resource_id=item[1],
                        version_id=1,
                        last_updated=when,
                        body=text,
                        patient_id=patient,
                    )
                    for item, text, patient in zip(items, texts, patient_ids, strict=True)
                ],
                batch_size=BULK_BATCH,
            )
            pks = [obj.pk for obj in objects]
        rows = [
            CreatedRow(pk, item[0], item[1], 1, when, patient)
            for pk, item, patient in zip(pks, items, patient_ids, strict=True)
        ]
        insert_rows(
            ResourceVersion,
            VERSION_COLUMNS,
            [
                (r.pk, r.resource_type, r.resource_id, 1, when, None, False, item[3], r.patient_id)
                for r, item in zip(rows, items, strict=True)
            ],
        )
        _write_index([(row, item[2]) for row, item in zip(rows, items, strict=True)])
        for row, item in zip(rows, items, strict=True):
            if item[3] == "PUT":
                # The client named this id: audited by name, as a single PUT is.
                audit.add("create", row.resource_type, row.resource_id, row.patient_id)
            else:
                audit.add_many("create", row.resource_type, row.patient_id)
    return rows


def analyze_tables():
    """Refresh PostgreSQL's planner statistics for the store's tables after a big import.

    Without it the planner may still believe the index tables are tiny and pick nested
    loops that take seconds instead of milliseconds, until autovacuum catches up.
    """
    if connection.vendor != "postgresql":
        return
    tables = [Resource, ResourceVersion, *INDEX_MODELS.values()]
    names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
