"""Transaction and batch Bundles (POST to the service base).

A transaction is all-or-nothing: every entry is validated before anything is written, the
writes run in one database transaction, and the first failure rolls everything back and is
answered with an OperationOutcome naming the entry. Entries are processed in FHIR's order
(DELETE, POST, PUT, GET); `urn:uuid:` fullUrls are given ids up front and every reference to
them is rewritten before the resources are stored, so a whole Synthea patient (thousands of
entries) goes in with a few bulk INSERTs per table.

A batch runs each entry on its own; one failing entry does not stop the others.

References are rewritten in place: the Bundle passed in is consumed (its resources end up
with the server's ids), which spares a deep copy of thousands of entries.
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import IntegrityError, transaction

from . import projections, store
from . import searchparams as sp
from .errors import FhirError, PreconditionFailed
from .integrity import check_resolvable
from .models import Resource
from .responses import bundle_text, entry_text
from .searchset import run_search
from .validation import ID_RE, is_resource_type, validate_resource
from .wire import etag, format_instant

METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}


class Budget:
    """What one Bundle may cost: response bytes, seconds, and the page size of each search
    entry (FHIR_BUNDLE_MAX_RESPONSE_BYTES, FHIR_BUNDLE_MAX_SECONDS, FHIR_BUNDLE_ENTRY_COUNT).
    A worker's memory is bounded by the first whatever the Bundle asks."""

    def __init__(self, *, limited=True, lenient=False):
        # The importer runs files of tens of thousands of entries in a process of its own:
        # its Bundles are not held to a request's budget (only search entries' page size).
        big = float("inf")
        self.bytes_left = settings.FHIR_BUNDLE_MAX_RESPONSE_BYTES if limited else big
        self.deadline = time.monotonic() + (settings.FHIR_BUNDLE_MAX_SECONDS if limited else big)
        self.entry_count = settings.FHIR_BUNDLE_ENTRY_COUNT
        self.lenient = lenient

    def spend(self, entry):
        """Count an entry's response against the budget."""
        self.bytes_left -= len(entry.resource_text or "") + 200

    def check(self):
        """Raise OverBudget when the Bundle has used up its bytes or its time."""
        if self.bytes_left <= 0:
            raise OverBudget(
                "The Bundle's response would exceed "
                f"{settings.FHIR_BUNDLE_MAX_RESPONSE_BYTES} bytes: split it, or ask for "
                "smaller pages"
            )
        if time.monotonic() > self.deadline:
            raise OverBudget(
                f"The Bundle did not finish within {settings.FHIR_BUNDLE_MAX_SECONDS} seconds: "
                "split it into smaller Bundles"
            )

    def search_params(self, query):
        """A search entry's parameters with its page size capped to the entry budget."""
        params = []
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name == "_count" and value.isascii() and value.isdigit():
                value = str(min(int(value), self.entry_count))
            params.append((name, value))
        if not any(name == "_count" for name, _ in params):
            params.append(("_count", str(self.entry_count)))
        return params


class OverBudget(FhirError):
    def __init__(self, diagnostics):
        super().__init__(413, diagnostics, code="too-costly")


@dataclass
class Entry:
    index: int
    method: str
    url: str
    resource_type: str
    resource_id: str = ""
    query: str = ""
    full_url: str = ""
    resource: dict = None
    if_none_exist: str = ""
    if_match: str = ""
    # Filled while processing.
    response: dict = field(default_factory=dict)
    resource_text: str = None
    patient_id: str = ""

    @property
    def path(self):
        return f"Bundle.entry[{self.index}]"


def _parse_entry(index, raw, validated=False):
    """One entry checked (and its resource validated, unless `validated` says the caller
    has validated exactly this resource already)."""
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise FhirError(400, f"{where} must be an object", code="structure", expression=where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise FhirError(
            400, f"{where}.request is required", code="required", expression=f"{where}.request"
        )
    method = request.get("method")
    url = request.get("url")
    if method not in METHOD_ORDER:
        raise FhirError(
            400,
            f"{where}.request.method {method!r} is not supported (GET, POST, PUT, DELETE)",
            code="not-supported",
            expression=f"{where}.request.method",
        )
    if not isinstance(url, str) or not url.strip():
        raise FhirError(
            400,
            f"{where}.request.url is required",
            code="required",
            expression=f"{where}.request.url",
        )
    path, _, query = url.strip().lstrip("/").partition("?")
    parts = path.split("/")
    rtype = parts[0]
    if not is_resource_type(rtype):
        raise FhirError(
            400,
            f"{where}.request.url names unknown resource type {rtype!r}",
            code="not-supported",
            expression=f"{where}.request.url",
        )
    entry = Entry(
        index=index,
        method=method,
        url=url,
        resource_type=rtype,
        query=query,
        full_url=raw.get("fullUrl") or "",
        if_none_exist=request.get("ifNoneExist") or "",
        if_match=request.get("ifMatch") or "",
    )
    if len(parts) > 1:
        entry.resource_id = parts[1]
        if not ID_RE.match(entry.resource_id):
            raise FhirError(
                400,
                f"{where}.request.url has an invalid id",
                code="value",
                expression=f"{where}.request.url",
            )
    if projections.is_projected(rtype, entry.resource_id) and (method != "GET" or len(parts) > 2):
        raise projections.read_only(rtype, expression=f"{where}.request.url")
    if len(parts) > 2 and not (method == "GET" and len(parts) == 4 and parts[2] == "_history"):
        raise FhirError(
            400,
            f"{where}.request.url is not supported in a Bundle",
            code="not-supported",
            expression=f"{where}.request.url",
        )
    if method in ("POST", "PUT"):
        resource = raw.get("resource")
        if not validated or not isinstance(resource, dict):
            validate_resource(resource, None, path=f"{where}.resource")
        if resource["resourceType"] != rtype:
            raise FhirError(
                400,
                f"{where}.resource is a {resource['resourceType']} but the url names {rtype}",
                code="invalid",
                expression=f"{where}.resource.resourceType",
            )
        if method == "POST" and entry.resource_id:
            raise FhirError(
                400,
                f"{where}: POST goes to the type, not an id",
                code="invalid",
                expression=f"{where}.request.url",
            )
        if method == "PUT" and not entry.resource_id and not query:
            raise FhirError(
                400,
                f"{where}: PUT needs Type/id or Type?criteria",
                code="invalid",
                expression=f"{where}.request.url",
            )
        entry.resource = resource
    elif method == "DELETE" and not entry.resource_id and not query:
        raise FhirError(
            400,
            f"{where}: DELETE needs Type/id or Type?criteria",
            code="invalid",
            expression=f"{where}.request.url",
        )
    return entry


def _rewrite_references(node, mapping, resolve_conditional):
    """Replace references to fullUrls (urn:uuid:...) and conditional references in place."""
    containers = (dict, list)
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str):
                if ref in mapping:
                    node["reference"] = mapping[ref]
                elif "?" in ref and not ref.startswith("#"):
                    node["reference"] = resolve_conditional(ref)
            for value in node.values():
                if isinstance(value, containers):
                    stack.append(value)
        elif isinstance(node, list):
            for value in node:
                if isinstance(value, containers):
                    stack.append(value)


def _conditional_resolver(requester, entry_path):
    cache = {}

    def resolve(ref):
        if ref not in cache:
            rtype, _, criteria = ref.partition("?")
            if not is_resource_type(rtype):
                raise FhirError(
                    400,
                    f"Conditional reference {ref!r} names an unknown type",
                    code="not-supported",
                    expression=entry_path(),
                )
            matches = store.find_matches(rtype, criteria, requester)
            if len(matches) != 1:
                raise FhirError(
                    412 if matches else 404,
                    f"Conditional reference {ref!r} matches {len(matches)} resources "
                    "(needs exactly one)",
                    code="not-found" if not matches else "multiple-matches",
                    expression=entry_path(),
                )
            cache[ref] = matches[0].reference
        return cache[ref]

    return resolve


def _response(status, resource=None, base=None, location=True):
    out = {"status": status}
    if resource is not None:
        if location:
            out["location"] = (
                f"{resource.resource_type}/{resource.resource_id}/_history/{resource.version_id}"
            )
        out["etag"] = etag(resource.version_id)
        out["lastModified"] = format_instant(resource.last_updated)
    return out


def _with_path(error, entry):
    """Prefix an error's expressions with the entry path (once)."""
    for issue in error.issues:
        expressions = issue.get("expression") or []
        if not any(e.startswith("Bundle.") for e in expressions):
            issue["expression"] = [entry.path, *expressions]
        issue["diagnostics"] = f"{entry.path}: {issue.get('diagnostics', '')}"
    return error


def _assign_ids(entries):
    """Give POST entries their ids now and map fullUrls to the references they become."""
    mapping = {}
    for entry in entries:
        if entry.method == "POST":
            entry.resource_id = store.new_id()
        if entry.full_url and entry.method in ("POST", "PUT") and entry.resource_id:
            mapping[entry.full_url] = f"{entry.resource_type}/{entry.resource_id}"
    return mapping


def _run_get(entry, requester, base, budget):
    if entry.resource_id and projections.is_projected(entry.resource_type, entry.resource_id):
        resource = projections.read(entry.resource_type, entry.resource_id, requester)
        entry.resource_text = resource.body
        entry.response = {"status": "200 OK"}
        return
    if entry.resource_id:
        parts = entry.url.split("?")[0].strip("/").split("/")
        if len(parts) == 4:
            version = store.read_version(
                entry.resource_type, entry.resource_id, parts[3], requester=requester
            )
            entry.resource_text = version.text
            entry.response = {"status": "200 OK", "etag": etag(version.version_id)}
            return
        resource = store.read_resource(entry.resource_type, entry.resource_id, requester=requester)
        entry.resource_text = resource.body
        entry.response = _response("200 OK", resource, location=False)
        return
    entry.resource_text = run_search(
        entry.resource_type,
        budget.search_params(entry.query),
        requester,
        base,
        f"{base}/{entry.resource_type}",
        lenient=budget.lenient,
        budget=int(min(max(budget.bytes_left, 1), 2**62)),
    )
    entry.response = {"status": "200 OK"}


def _run_one(entry, requester, base, budget, references_checked=False):
    """Carry out one entry with the single-resource store functions (which audit it)."""
    budget.check()
    if entry.method == "DELETE":
        if entry.resource_id:
            store.delete_resource(entry.resource_type, entry.resource_id, requester=requester)
        else:
            store.conditional_delete(entry.resource_type, entry.query, requester=requester)
        entry.response = {"status": "204 No Content"}
    elif entry.method == "POST":
        result = store.create_resource(
            entry.resource_type,
            entry.resource,
            requester=requester,
            if_none_exist=entry.if_none_exist or None,
            validated=True,
            resource_id=entry.resource_id or None,
            references_checked=references_checked,
        )
        if entry.resource_id and result.resource.resource_id != entry.resource_id:
            # A concurrent conditional create won after references to this entry were
            # rewritten; the Bundle must be retried rather than stored half-linked.
            raise FhirError(
                409, "A concurrent conditional create matched; retry the Bundle", code="conflict"
            )
        entry.resource_id = result.resource.resource_id
        entry.response = _response("201 Created" if result.created else "200 OK", result.resource)
    elif entry.method == "PUT":
        result = _put(entry, requester, references_checked)
        entry.response = _response("201 Created" if result.created else "200 OK", result.resource)
    else:
        _run_get(entry, requester, base, budget)
    budget.spend(entry)


def _put(entry, requester, references_checked):
    if entry.resource_id:
        return store.update_resource(
            entry.resource_type,
            entry.resource_id,
            entry.resource,
            requester=requester,
            if_match=entry.if_match or None,
            validated=True,
            references_checked=references_checked,
        )
    return store.conditional_update(
        entry.resource_type,
        entry.query,
        entry.resource,
        requester=requester,
        validated=True,
        references_checked=references_checked,
    )


def process_bundle(bundle, requester, base, *, lenient=False):
    """Run a transaction or batch Bundle; returns the response Bundle as JSON text.

    `lenient` (Prefer: handling=lenient) lets search entries leave out parameters the
    server does not know instead of failing."""
    kind, entries = run_bundle(bundle, requester, base, lenient=lenient)
    texts = [entry_text(None, e.resource_text, response=e.response) for e in entries]
    return bundle_text({"resourceType": "Bundle", "type": f"{kind}-response"}, texts)


def run_bundle(
    bundle, requester, base, *, validated=False, lenient=False, known=frozenset(), budget=None
):
    """Run a transaction or batch Bundle; returns (kind, entries in the Bundle's order).

    Each entry's `response` is its response entry's `response` element. `validated` says
    the caller has already validated every entry's resource with validate_resource (the
    importer does, line by line, for NDJSON), so it is not done twice. `known` holds
    `Type/id` of resources an import run will load later (references to them are accepted).
    `budget` defaults to a request's (Budget); the importer passes an unlimited one.
    """
    kind, parts = parse_bundle(bundle, validated=validated)
    return run_parsed(kind, parts, requester, base, lenient=lenient, known=known, budget=budget)


def run_parsed(kind, parts, requester, base, *, lenient=False, known=frozenset(), budget=None):
    """Run what parse_bundle returned (run_bundle's database half; the importer parses the
    next file while the previous one is written)."""
    budget = budget or Budget(lenient=lenient)
    if kind == "transaction":
        return kind, _transaction(parts, requester, base, budget, known)
    return kind, _batch(parts, requester, base, budget)


def parse_bundle(bundle, *, validated=False):
    """Check a Bundle and validate its entries, without touching the database.

    Returns (kind, parts) for run_bundle: for a transaction the parsed entries (a bad one
    raises FhirError, so nothing is written), for a batch the parsed entries with, in
    place of each bad one, an entry holding its error response.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError(
            400, "POST to the base needs a Bundle", code="invalid", expression="Bundle.resourceType"
        )
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise FhirError(
            400,
            "Bundle.type must be transaction or batch",
            code="invalid",
            expression="Bundle.type",
        )
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise FhirError(
            400, "Bundle.entry must be a list", code="structure", expression="Bundle.entry"
        )
    max_entries = store.max_bundle_entries()
    if len(raw_entries) > max_entries:
        raise FhirError(413, f"A Bundle may hold at most {max_entries} entries", code="too-costly")
    if kind == "transaction":
        # Validate everything before the first write, so a bad entry costs no database work.
        entries = [_parse_entry(i, raw, validated) for i, raw in enumerate(raw_entries)]
        full_urls = [e.full_url for e in entries if e.full_url]
        if len(full_urls) != len(set(full_urls)):
            raise FhirError(
                400,
                "Two entries share a fullUrl",
                code="invalid",
                expression="Bundle.entry.fullUrl",
            )
        return kind, entries
    parts = []
    for i, raw in enumerate(raw_entries):
        try:
            parts.append(_parse_entry(i, raw, validated))
        except FhirError as error:
            failed = Entry(index=i, method="", url="", resource_type="")
            failed.response = {"status": str(error.status), "outcome": error.outcome()}
            parts.append(failed)
    return kind, parts


def _fresh_put_targets(entries):
    """(type, id) of the plain PUTs whose resource does not exist yet.

    Only PUTs without If-Match whose id no other entry of the Bundle names: those create a
    resource with the client's id exactly like a POST would, so they can go into the same
    bulk insert instead of a locked lookup, two savepoints and several inserts each.
    """
    named = Counter((e.resource_type, e.resource_id) for e in entries if e.resource_id)
    wanted = {}
    for e in entries:
        alone = named[(e.resource_type, e.resource_id)] == 1
        if e.method == "PUT" and e.resource_id and not e.if_match and alone:
            wanted.setdefault(e.resource_type, []).append(e.resource_id)
    fresh = set()
    for rtype, ids in wanted.items():
        for i in range(0, len(ids), store.BULK_BATCH):
            chunk = ids[i : i + store.BULK_BATCH]
            existing = set(
                Resource.objects.filter(resource_type=rtype, resource_id__in=chunk).values_list(
                    "resource_id", flat=True
                )
            )
            fresh.update((rtype, rid) for rid in chunk if rid not in existing)
    return fresh


def _transaction(entries, requester, base, budget, known=frozenset()):
    ordered = sorted(entries, key=lambda e: (METHOD_ORDER[e.method], e.index))
    current = {"entry": None}
    resolver = _conditional_resolver(
        requester, lambda: current["entry"].path if current["entry"] else "Bundle"
    )
    # One transaction, and one audit INSERT for all of it before it commits.
    with transaction.atomic(), requester.audit.writing():
        mapping = _assign_ids(entries)
        # Conditional creates first: a match replaces the id given above, before any body
        # referring to it is written.
        for entry in ordered:
            if entry.method == "POST" and entry.if_none_exist:
                current["entry"] = entry
                try:
                    matches = store.find_matches(
                        entry.resource_type, entry.if_none_exist, requester
                    )
                except FhirError as error:
                    raise _with_path(error, entry) from None
                if len(matches) > 1:
                    raise _with_path(
                        PreconditionFailed("ifNoneExist matches several resources"), entry
                    )
                if matches:
                    entry.resource_id = matches[0].resource_id
                    entry.response = _response("200 OK", matches[0])
                    if entry.full_url:
                        mapping[entry.full_url] = matches[0].reference
        for entry in ordered:
            if entry.resource is not None:
                current["entry"] = entry
                try:
                    _rewrite_references(entry.resource, mapping, resolver)
                except FhirError as error:
                    raise _with_path(error, entry) from None
        # Every reference must now name a resource that exists or that this Bundle writes.
        pending = {
            f"{e.resource_type}/{e.resource_id}"
            for e in entries
            if e.method in ("POST", "PUT") and e.resource_id
        }
        check_resolvable(
            [(e.resource, f"{e.path}.resource") for e in ordered if e.resource is not None],
            requester,
            pending=pending,
            known=known,
        )
        fresh = _fresh_put_targets(ordered)
        bulk = []
        for entry in ordered:
            current["entry"] = entry
            try:
                if entry.method == "POST" and not entry.if_none_exist:
                    _claim_for_bulk(entry, requester)
                    bulk.append(entry)
                    continue
                if entry.method == "POST" and entry.response:
                    continue  # matched an existing resource
                if entry.method == "PUT" and (entry.resource_type, entry.resource_id) in fresh:
                    store.check_update_body(entry.resource_type, entry.resource_id, entry.resource)
                    _claim_for_bulk(entry, requester)
                    bulk.append(entry)
                    continue
                if bulk and entry.method != "POST":
                    _flush_bulk(bulk, requester, base, budget)
                    bulk = []
                _run_one(entry, requester, base, budget, references_checked=True)
            except FhirError as error:
                raise _with_path(error, entry) from None
        if bulk:
            current["entry"] = None
            _flush_bulk(bulk, requester, base, budget)
        budget.check()
    return entries


def _claim_for_bulk(entry, requester):
    """The entry's compartment (worked out once), after checking the requester may create."""
    entry.patient_id = sp.patient_compartment(
        entry.resource_type, entry.resource_id, entry.resource
    )
    store.check_write(requester, entry.resource_type, "c", entry.patient_id)


def _flush_bulk(entries, requester, base, budget):
    """Create the collected entries with one bulk insert per table."""
    # In id order: two importers writing the same new ids (a Practitioner every per-patient
    # file carries) then wait for each other in one direction and never deadlock.
    entries = sorted(entries, key=lambda e: (e.resource_type, e.resource_id or ""))
    items = [(e.resource_type, e.resource_id, e.resource, e.method) for e in entries]
    patients = [e.patient_id for e in entries]
    try:
        # bulk_create runs in a savepoint: one for the whole batch, not one per entry.
        rows = store.bulk_create(items, patients, requester=requester)
    except IntegrityError:
        if not any(e.method == "PUT" for e in entries):
            raise
        # Another writer created one of the client ids since we looked. Go one by one,
        # as single PUTs would: an id that exists now becomes an update.
        posts = [e for e in entries if e.method == "POST"]
        if posts:
            _flush_bulk(posts, requester, base, budget)
        for entry in entries:
            if entry.method == "PUT":
                try:
                    _run_one(entry, requester, base, budget, references_checked=True)
                except FhirError as error:
                    raise _with_path(error, entry) from None
        return
    for entry, row in zip(entries, rows, strict=True):
        entry.response = _response("201 Created", row)
        budget.spend(entry)


def _batch(parts, requester, base, budget):
    """Each entry on its own: a bad entry gets its own error response and the others go
    on. Over budget, a batch that has changed nothing is answered with one 413; once an
    entry has written, the entries not run get a 413 each (the writes stand and are
    reported)."""
    # Entries that failed to parse carry their error response already (and no method).
    results = [e for e in parts if not e.method]
    parsed = [e for e in parts if e.method]
    mapping = {}
    wrote = False
    for entry in sorted(parsed, key=lambda e: (METHOD_ORDER[e.method], e.index)):
        try:
            with transaction.atomic():
                if entry.resource is not None:
                    _rewrite_references(
                        entry.resource,
                        mapping,
                        _conditional_resolver(requester, lambda e=entry: e.path),
                    )
                _run_one(entry, requester, base, budget)
            wrote = wrote or entry.method != "GET"
            if entry.full_url and entry.method in ("POST", "PUT") and entry.resource_id:
                mapping[entry.full_url] = f"{entry.resource_type}/{entry.resource_id}"
        except OverBudget as error:
            if not wrote:
                raise
            entry.resource_text = None
            entry.response = {"status": "413", "outcome": error.outcome()}
        except FhirError as error:
            entry.resource_text = None
            entry.response = {"status": str(error.status), "outcome": error.outcome()}
        results.append(entry)
    return sorted(results, key=lambda e: e.index)
