"""The FHIR REST API: plain Django views speaking FHIR JSON.

Every view goes through `fhir_view`, which authenticates (Bearer token or session),
negotiates JSON and turns FhirError into an OperationOutcome. The store audits every read
and write itself; `fhir_view` only collects one request's reads into one INSERT.
The views are CSRF-exempt for token clients; a session-authenticated write still has to
pass Django's CSRF check, so a hostile page cannot make a clinic browser write records.
"""

import functools
import logging

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from . import bundles, operations, projections, shaping, store
from .access import requester_for
from .capability import capability_statement
from .errors import FhirError, NotFound, information_outcome
from .paging import Paging
from .responses import (
    base_url,
    bundle_text,
    fhir_response,
    history_entry,
    outcome_response,
    page_links,
    version_headers,
)
from .search import default_count, max_count
from .searchset import run_search
from .validation import is_resource_type, is_storable_type, parse_json
from .wire import etag, loads

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


def read_body(request, types=_JSON_TYPES):
    """The decoded JSON object of a write request (415/413/400 as OperationOutcome)."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in types:
        raise FhirError(415, f"Send {types[0]}", code="not-supported")
    length = request.headers.get("Content-Length")
    if length and length.isascii() and length.isdigit() and int(length) > max_body_size():
        raise FhirError(413, "Body too large", code="too-costly")
    # request.read() rather than request.body: a patient Bundle is often larger than
    # DATA_UPLOAD_MAX_MEMORY_SIZE, which guards form posts; FHIR_MAX_BODY_SIZE applies here.
    raw = request.read(max_body_size() + 1)
    if len(raw) > max_body_size():
        raise FhirError(413, "Body too large", code="too-costly")
    return parse_json(raw) if types is _JSON_TYPES else loads(raw.decode("utf-8", "replace"))


def read_patch(request):
    """A JSON Patch document (application/json-patch+json): a list of operations."""
    if request.headers.get("Content-Type", "").split(";")[0].strip().lower() in _JSON_TYPES:
        raise FhirError(
            415,
            "PATCH takes a JSON Patch (application/json-patch+json); FHIRPath Patch is not "
            "supported",
            code="not-supported",
        )
    return read_body(request, types=("application/json-patch+json",))


def _not_served(resource_type):
    if is_resource_type(resource_type):
        # A real FHIR type this server only returns (OperationOutcome) or an abstract one.
        return FhirError(
            404,
            f"{resource_type} resources are not stored or searched here: the server only "
            "returns them (see /fhir/metadata for the types it serves)",
            code="not-supported",
        )
    return NotFound(f"Unknown resource type {resource_type!r} (this server speaks FHIR R4)")


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
                    raise _not_served(rtype)
                requester = requester_for(request)
                # The CSRF check guards session cookies; a Bearer token (the district's or
                # a connected app's) is no cookie a hostile page could make a browser send.
                if (
                    request.method in _UNSAFE
                    and not request.headers.get("Authorization", "")
                    and _csrf_failure(request) is not None
                ):
                    raise FhirError(403, "CSRF check failed", code="forbidden")
                with requester.audit.collecting():
                    return view(request, requester, *args, **kwargs)
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


def prefer(request):
    """The Prefer header's preferences as {name: value} (RFC 7240; FHIR uses `return` and
    `handling`)."""
    out = {}
    for part in request.headers.get("Prefer", "").split(","):
        for item in part.split(";"):
            name, _, value = item.strip().partition("=")
            if name:
                out.setdefault(name.strip().lower(), value.strip().strip('"').lower())
    return out


def lenient(request):
    return prefer(request).get("handling") == "lenient"


def _resource_response(request, resource, base, status=200, location=False, shape=None):
    headers = version_headers(
        resource.resource_type,
        resource.resource_id,
        resource.version_id,
        resource.last_updated,
        base,
    )
    if location:
        headers["Location"] = headers["Content-Location"]
    wanted = prefer(request).get("return") if request.method != "GET" else None
    if wanted == "minimal":
        # No body: the headers say where the resource is and which version was written.
        response = fhir_response("", status=status, headers=headers)
        del response["Content-Type"]
        return response
    if wanted == "operationoutcome":
        outcome = information_outcome(
            f"{resource.resource_type}/{resource.resource_id} version {resource.version_id} "
            + ("created" if status == 201 else "stored")
        )
        return fhir_response(outcome, status=status, headers=headers)
    body = resource.body if shape is None else shaping.apply(shape, resource.body)
    return fhir_response(body, status=status, headers=headers)


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


def _refuse_projection(request, resource_type, resource_id=None):
    """Booking's resources answer read and search only (405 for anything else)."""
    if projections.is_projected(resource_type, resource_id) and request.method != "GET":
        raise projections.read_only(resource_type)


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
def root(request, requester):
    if request.method == "GET":
        raise FhirError(
            400, "Search across all types is not supported; name a type", code="not-supported"
        )
    bundle = read_body(request)
    return fhir_response(
        bundles.process_bundle(bundle, requester, base_url(request), lenient=lenient(request))
    )


@fhir_view({"GET"})
def system_history(request, requester):
    return _history(request, requester, None, None)


@fhir_view({"GET", "POST", "PUT", "DELETE"})
def type_endpoint(request, requester, resource_type):
    _refuse_projection(request, resource_type)
    base = base_url(request)
    if request.method == "DELETE":
        # Conditional delete: DELETE Type?criteria.
        criteria = request.META.get("QUERY_STRING", "")
        if not criteria:
            raise FhirError(400, "DELETE on a type needs search criteria", code="invalid")
        deleted = store.conditional_delete(resource_type, criteria, requester=requester)
        response = HttpResponse(status=204)
        del response["Content-Type"]
        if deleted is not None:
            response["ETag"] = etag(deleted.version_id)
        return response
    if request.method == "PUT":
        # Conditional update: PUT Type?criteria.
        criteria = request.META.get("QUERY_STRING", "")
        if not criteria:
            raise FhirError(400, "PUT to a type needs search criteria", code="invalid")
        body = read_body(request)
        result = store.conditional_update(resource_type, criteria, body, requester=requester)
        return _resource_response(
            request, result.resource, base, status=result.status, location=result.created
        )
    if request.method == "GET":
        params = _query_pairs(request)
        return fhir_response(
            run_search(
                resource_type,
                params,
                requester,
                base,
                f"{base}/{resource_type}",
                lenient=lenient(request),
            )
        )
    body = read_body(request)
    result = store.create_resource(
        resource_type, body, requester=requester, if_none_exist=request.headers.get("If-None-Exist")
    )
    return _resource_response(request, result.resource, base, status=result.status, location=True)


@fhir_view({"GET"})
def compartment_search(request, requester, resource_id, resource_type):
    """Patient/X/Type?params: the search of Type limited to Patient X's compartment (the
    resources filed under X; for projected types, `patient=X`). A requester limited to
    other patients gets the store's 404."""
    limit = requester.compartment(resource_type, "s")
    if limit is not None and resource_id not in limit:
        raise NotFound(f"Patient/{resource_id} is not known")
    base = base_url(request)
    params = _query_pairs(request)
    if projections.is_projected(resource_type):
        params = [("patient", resource_id), *params]
    text = run_search(
        resource_type,
        params,
        requester,
        base,
        f"{base}/Patient/{resource_id}/{resource_type}",
        lenient=lenient(request),
        compartment=resource_id,
    )
    return fhir_response(text)


@fhir_view({"POST"})
def type_search(request, requester, resource_type):
    base = base_url(request)
    params = _query_pairs(request)
    return fhir_response(
        run_search(
            resource_type,
            params,
            requester,
            base,
            f"{base}/{resource_type}",
            lenient=lenient(request),
        )
    )


@fhir_view({"GET", "PUT", "PATCH", "DELETE"})
def instance(request, requester, resource_type, resource_id):
    _refuse_projection(request, resource_type, resource_id)
    base = base_url(request)
    if request.method == "GET":
        shape = shaping.read_shape(_query_pairs(request))
        if projections.is_projected(resource_type, resource_id):
            resource = projections.read(resource_type, resource_id, requester)
            return fhir_response(shaping.apply(shape, resource.body))
        resource = store.read_resource(resource_type, resource_id, requester=requester)
        return _resource_response(request, resource, base, shape=shape)
    if request.method == "PATCH":
        result = store.patch_resource(
            resource_type,
            resource_id,
            read_patch(request),
            requester=requester,
            if_match=request.headers.get("If-Match"),
        )
        return _resource_response(request, result.resource, base, status=result.status)
    if request.method == "PUT":
        body = read_body(request)
        result = store.update_resource(
            resource_type,
            resource_id,
            body,
            requester=requester,
            if_match=request.headers.get("If-Match"),
        )
        return _resource_response(
            request, result.resource, base, status=result.status, location=result.created
        )
    deleted = store.delete_resource(resource_type, resource_id, requester=requester)
    response = HttpResponse(status=204)
    del response["Content-Type"]  # no body, so no type (not text/html)
    if deleted is not None:
        response["ETag"] = etag(deleted.version_id)
    return response


@fhir_view({"GET"})
def instance_history(request, requester, resource_type, resource_id):
    if projections.is_projected(resource_type, resource_id):
        raise projections.read_only(resource_type)
    return _history(request, requester, resource_type, resource_id)


@fhir_view({"GET"})
def type_history(request, requester, resource_type):
    if projections.is_projected(resource_type):
        raise projections.read_only(resource_type)
    return _history(request, requester, resource_type, None)


def _history(request, requester, resource_type, resource_id):
    base = base_url(request)
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    paging = Paging(default_count(), max_count())
    for key, value in params:
        if not paging.take(key, value):
            raise FhirError(400, f"History does not support {key}", code="not-supported")
    total, versions = store.history(
        resource_type,
        resource_id,
        requester=requester,
        since=paging.since,
        offset=paging.offset,
        count=paging.count,
    )
    path = "/".join(p for p in (resource_type, resource_id) if p)
    url = f"{base}/{path}/_history" if path else f"{base}/_history"
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": total,
        "link": page_links(url, params, paging.offset, paging.count, total, len(versions)),
    }
    return fhir_response(bundle_text(bundle, [history_entry(v, base) for v in versions]))


@fhir_view({"GET"})
def vread(request, requester, resource_type, resource_id, version_id):
    if projections.is_projected(resource_type, resource_id):
        raise projections.read_only(resource_type)
    shape = shaping.read_shape(_query_pairs(request))
    version = store.read_version(resource_type, resource_id, version_id, requester=requester)
    headers = version_headers(
        resource_type, resource_id, version.version_id, version.last_updated, base_url(request)
    )
    return fhir_response(shaping.apply(shape, version.text), headers=headers)


def _operation(request, requester, operation, resource_type=None, resource_id=None):
    body = None
    params = [(k, v) for k, values in request.GET.lists() for v in values]
    if request.method == "POST":
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            params += _query_pairs(request)[len(params) :]
        elif request.headers.get("Content-Length", "0") not in ("", "0"):
            body = read_body(request)
    result = operations.call(
        operation,
        requester,
        base_url(request),
        method=request.method,
        params=params,
        body=body,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    return fhir_response(result)


@fhir_view({"GET", "POST"})
def system_operation(request, requester, operation):
    return _operation(request, requester, operations.find(operation))


@fhir_view({"GET", "POST"})
def type_operation(request, requester, resource_type, operation):
    return _operation(request, requester, operations.find(operation, resource_type), resource_type)


@fhir_view({"GET", "POST"})
def instance_operation(request, requester, resource_type, resource_id, operation):
    return _operation(
        request,
        requester,
        operations.find(operation, resource_type, instance=True),
        resource_type,
        resource_id,
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
