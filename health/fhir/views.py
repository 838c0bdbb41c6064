"""The FHIR REST API: plain Django views speaking FHIR JSON.

Every view goes through `fhir_view`, which authenticates (Bearer token or session),
negotiates JSON, turns FhirError into an OperationOutcome and writes the audit trail.
The views are CSRF-exempt for token clients; a session-authenticated write still has to
pass Django's CSRF check, so a hostile page cannot make a clinic browser write records.
"""

import functools
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from health.records.audit import AuditTrail

from . import bundles, operations, projections, store
from .access import requester_for
from .capability import capability_statement
from .errors import FhirError, NotFound
from .paging import Paging
from .responses import (
    base_url,
    bundle_text,
    fhir_response,
    history_entry,
    match_entry,
    outcome_response,
    page_links,
    version_headers,
)
from .search import build_search, default_count, max_count, resolve_includes
from .validation import is_storable_type, parse_json

logger = logging.getLogger(__name__)

_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
_UNSAFE = {"POST", "PUT", "DELETE", "PATCH"}


def max_body_size():
    return settings.FHIR_MAX_BODY_SIZE


def _accepts_json(request):
    accept = request.headers.get("Accept", "")
    if not accept:
        return True
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", *_JSON_TYPES):
            return True
    return request.GET.get("_format") in ("json", "application/json", "application/fhir+json")


def _csrf_failure(request):
    """A response if the session-authenticated request fails the CSRF check, else None."""
    middleware = CsrfViewMiddleware(lambda req: None)
    return middleware.process_view(request, None, (), {})


def read_body(request):
    """The decoded JSON object of a write request (415/413/400 as OperationOutcome)."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise FhirError(415, "Send application/fhir+json", code="not-supported")
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_body_size():
        raise FhirError(413, "Body too large", code="too-costly")
    # request.read() rather than request.body: a patient Bundle is often larger than
    # DATA_UPLOAD_MAX_MEMORY_SIZE, which guards form posts; FHIR_MAX_BODY_SIZE applies here.
    raw = request.read(max_body_size() + 1)
    if len(raw) > max_body_size():
        raise FhirError(413, "Body too large", code="too-costly")
    return parse_json(raw)


def fhir_view(methods):
    """Decorate a FHIR endpoint: method check, auth, negotiation and error handling."""

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise FhirError(
                        405, f"{request.method} is not supported here", code="not-supported"
                    )
                if not _accepts_json(request):
                    raise FhirError(
                        406, "This server speaks application/fhir+json", code="not-supported"
                    )
                rtype = kwargs.get("resource_type")
                if rtype is not None and not is_storable_type(rtype):
                    raise NotFound(f"Unknown resource type {rtype!r}")
                requester = requester_for(request)
                if (
                    request.method in _UNSAFE
                    and requester.token is None
                    and _csrf_failure(request) is not None
                ):
                    raise FhirError(403, "CSRF check failed", code="forbidden")
                trail = AuditTrail(requester)
                response = view(request, requester, trail, *args, **kwargs)
                trail.flush()
                return response
            except FhirError as error:
                return outcome_response(error.status, error.issues, getattr(error, "headers", None))
            except Exception:
                # Never a stack trace or an HTML page for an API client.
                logger.exception("FHIR request failed: %s %s", request.method, request.path)
                return outcome_response(
                    500,
                    [{"severity": "fatal", "code": "exception", "diagnostics": "Internal error"}],
                )

        return wrapper

    return decorator


def _prefers_minimal(request):
    prefer = request.headers.get("Prefer", "")
    return "return=minimal" in prefer


def _resource_response(request, resource, base, status=200, location=False):
    headers = version_headers(
        resource.resource_type,
        resource.resource_id,
        resource.version_id,
        resource.last_updated,
        base,
    )
    if location:
        headers["Location"] = headers["Content-Location"]
    if _prefers_minimal(request) and request.method != "GET":
        response = HttpResponse(status=status)
        for key, value in headers.items():
            response[key] = value
        return response
    return fhir_response(resource.body, status=status, headers=headers)


def _query_pairs(request):
    pairs = [(k, v) for k, values in request.GET.lists() for v in values]
    if request.method == "POST":
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise FhirError(415, "POST _search takes a form-encoded body", code="not-supported")
        # request.POST, not request.body: the CSRF check may already have read the stream.
        pairs += [
            (k, v)
            for k, values in request.POST.lists()
            if k != "csrfmiddlewaretoken"
            for v in values
        ]
    return pairs


# -- search -------------------------------------------------------------------------------------


def run_search(resource_type, params, requester, base, url, trail):
    """Run a type-level search and return the searchset Bundle as JSON text (audited)."""
    if projections.is_projected(resource_type):
        return _projection_search(resource_type, params, requester, base, url, trail)
    search = build_search(resource_type, params, requester)
    qs = search.queryset
    total = qs.count() if (search.with_total or search.summary_count) else None
    if search.summary_count:
        trail.add("search", resource_type, detail=_detail(params, total))
        return bundle_text({"resourceType": "Bundle", "type": "searchset", "total": total}, [])
    matches = list(qs[search.offset : search.offset + search.count]) if search.count else []
    included = resolve_includes(search, matches, requester)
    _audit_results(trail, "search", matches + included, resource_type, params, total)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = page_links(url, params, search.offset, search.count, total, len(matches))
    entries = [match_entry(r, base) for r in matches]
    entries += [match_entry(r, base, mode="include") for r in included]
    return bundle_text(bundle, entries)


def _projection_search(resource_type, params, requester, base, url, trail):
    """A search of clinic booking's resources (projections.py), bundled and audited like the
    store's."""
    matches, total, count = projections.search(resource_type, params, requester)
    _audit_results(trail, "search", matches, resource_type, params, total)
    bundle = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [projections.self_link(url, params, count)]
    return bundle_text(bundle, [match_entry(r, base) for r in matches])


def _refuse_projection(request, resource_type, resource_id=None):
    """Booking's resources answer read and search only (405 for anything else)."""
    if projections.is_projected(resource_type, resource_id) and request.method != "GET":
        raise projections.read_only(resource_type)


def _detail(params, total):
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{query} ({total} found)" if total is not None else query


def _audit_results(trail, action, resources, resource_type, params, total):
    """One folded audit row per (patient, type) touched, so a resident sees each look."""
    touched = False
    detail = _detail(params, total)[:500]
    for resource in resources:
        if resource.patient_id:
            trail.add_many(action, resource.resource_type, resource.patient_id, detail=detail)
            touched = True
    if not touched:
        trail.add(action, resource_type, detail=detail)


# -- endpoints ----------------------------------------------------------------------------------


@csrf_exempt
def metadata(request):
    """GET /fhir/metadata: public, as FHIR requires, so clients can discover the server."""
    if request.method != "GET":
        return outcome_response(
            405, [{"severity": "error", "code": "not-supported", "diagnostics": "GET only"}]
        )
    return fhir_response(capability_statement(base_url(request)))


@fhir_view({"POST", "GET"})
def root(request, requester, trail):
    if request.method == "GET":
        raise FhirError(
            400, "Search across all types is not supported; name a type", code="not-supported"
        )
    bundle = read_body(request)
    return fhir_response(bundles.process_bundle(bundle, requester, base_url(request), trail))


@fhir_view({"GET"})
def system_history(request, requester, trail):
    return _history(request, requester, trail, None, None)


@fhir_view({"GET", "POST", "PUT"})
def type_endpoint(request, requester, trail, resource_type):
    _refuse_projection(request, resource_type)
    base = base_url(request)
    if request.method == "PUT":
        # Conditional update: PUT Type?criteria.
        criteria = request.META.get("QUERY_STRING", "")
        if not criteria:
            raise FhirError(400, "PUT to a type needs search criteria", code="invalid")
        body = read_body(request)
        with transaction.atomic():
            result = store.conditional_update(resource_type, criteria, body, requester=requester)
            resource = result.resource
            trail.add(
                "create" if result.created else "update",
                resource_type,
                resource.resource_id,
                resource.patient_id,
            )
            trail.flush()
        return _resource_response(
            request, resource, base, status=result.status, location=result.created
        )
    if request.method == "GET":
        params = _query_pairs(request)
        text = run_search(resource_type, params, requester, base, f"{base}/{resource_type}", trail)
        return fhir_response(text)
    body = read_body(request)
    if_none_exist = request.headers.get("If-None-Exist")
    with transaction.atomic():
        result = store.create_resource(
            resource_type, body, requester=requester, if_none_exist=if_none_exist
        )
        if result.created:
            resource = result.resource
            trail.add("create", resource_type, resource.resource_id, resource.patient_id)
            trail.flush()
    resource = result.resource
    if result.matched:
        trail.add(
            "read",
            resource_type,
            resource.resource_id,
            resource.patient_id,
            detail="If-None-Exist match",
        )
    return _resource_response(request, resource, base, status=result.status, location=True)


@fhir_view({"POST"})
def type_search(request, requester, trail, resource_type):
    base = base_url(request)
    params = _query_pairs(request)
    return fhir_response(
        run_search(resource_type, params, requester, base, f"{base}/{resource_type}", trail)
    )


@fhir_view({"GET", "PUT", "DELETE"})
def instance(request, requester, trail, resource_type, resource_id):
    _refuse_projection(request, resource_type, resource_id)
    base = base_url(request)
    if request.method == "GET" and projections.is_projected(resource_type, resource_id):
        resource = projections.read(resource_type, resource_id, requester)
        trail.add("read", resource_type, resource_id, resource.patient_id)
        return fhir_response(resource.body)
    if request.method == "GET":
        resource = store.read_resource(resource_type, resource_id, requester=requester)
        trail.add("read", resource_type, resource_id, resource.patient_id)
        return _resource_response(request, resource, base)
    if request.method == "PUT":
        body = read_body(request)
        with transaction.atomic():
            result = store.update_resource(
                resource_type,
                resource_id,
                body,
                requester=requester,
                if_match=request.headers.get("If-Match"),
            )
            trail.add(
                "create" if result.created else "update",
                resource_type,
                resource_id,
                result.resource.patient_id,
            )
            trail.flush()
        return _resource_response(
            request, result.resource, base, status=result.status, location=result.created
        )
    with transaction.atomic():
        deleted = store.delete_resource(resource_type, resource_id, requester=requester)
        if deleted is not None:
            trail.add("delete", resource_type, resource_id, deleted.patient_id)
            trail.flush()
    response = HttpResponse(status=204)
    if deleted is not None:
        response["ETag"] = store.etag(deleted.version_id)
    return response


@fhir_view({"GET"})
def instance_history(request, requester, trail, resource_type, resource_id):
    if projections.is_projected(resource_type, resource_id):
        raise projections.read_only(resource_type)
    resource = store.read_resource_any(resource_type, resource_id, requester=requester)
    return _history(request, requester, trail, resource_type, resource_id, resource)


@fhir_view({"GET"})
def type_history(request, requester, trail, resource_type):
    if projections.is_projected(resource_type):
        raise projections.read_only(resource_type)
    return _history(request, requester, trail, resource_type, None)


def _history(request, requester, trail, resource_type, resource_id, resource=None):
    base = base_url(request)
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    paging = Paging(default_count(), max_count())
    for key, value in params:
        if not paging.take(key, value):
            raise FhirError(400, f"History does not support {key}", code="not-supported")
    since, count, offset = paging.since, paging.count, paging.offset
    qs = store.history_queryset(resource_type, resource_id, requester=requester, since=since)
    total = qs.count()
    versions = list(qs.select_related("current")[offset : offset + count])
    for version in versions:
        # Audited under the compartment the version was written in: whose data was read.
        if version.patient_id:
            trail.add_many("history", version.resource_type, version.patient_id)
    if resource_id is not None:
        trail.add("history", resource_type, resource_id, resource.patient_id if resource else "")
    path = "/".join(p for p in (resource_type, resource_id) if p)
    url = f"{base}/{path}/_history" if path else f"{base}/_history"
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": total,
        "link": page_links(url, params, offset, count, total, len(versions)),
    }
    return fhir_response(bundle_text(bundle, [history_entry(v, base) for v in versions]))


@fhir_view({"GET"})
def vread(request, requester, trail, resource_type, resource_id, version_id):
    if projections.is_projected(resource_type, resource_id):
        raise projections.read_only(resource_type)
    version = store.read_version(resource_type, resource_id, version_id, requester=requester)
    trail.add("vread", resource_type, resource_id, version.current.patient_id)
    headers = version_headers(
        resource_type, resource_id, version.version_id, version.last_updated, base_url(request)
    )
    return fhir_response(version.text, headers=headers)


@fhir_view({"GET", "POST"})
def patient_everything(request, requester, trail, resource_id):
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    return fhir_response(
        operations.everything(resource_id, params, requester, base_url(request), trail)
    )


@fhir_view({"GET", "POST"})
def patient_summary(request, requester, trail, resource_id):
    return fhir_response(
        operations.summary_document(resource_id, requester, base_url(request), trail)
    )


@csrf_exempt
def not_found(request, path=""):
    return outcome_response(
        404,
        [
            {
                "severity": "error",
                "code": "not-found",
                "diagnostics": f"No FHIR endpoint at {request.path}",
            }
        ],
    )
