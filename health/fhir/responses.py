"""HTTP responses in FHIR JSON, and Bundles assembled from stored JSON text.

Stored bodies are already serialised (store.py keeps them as text), so a Bundle is built by
splicing those texts into the Bundle's JSON instead of decoding and re-encoding every
resource; that keeps a 5,000-resource $everything cheap.
"""

import json
from email.utils import format_datetime
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from .errors import operation_outcome
from .wire import dumps, etag, format_instant

FHIR_JSON = "application/fhir+json; charset=utf-8"


def base_url(request):
    """The service base URL (ends without a slash), e.g. https://portal.example/fhir."""
    configured = settings.FHIR_BASE_URL
    if configured:
        return configured.rstrip("/")
    return request.build_absolute_uri(reverse("fhir:root")).rstrip("/")


def fhir_response(data, status=200, headers=None):
    """A response with a dict or an already-serialised JSON text as body."""
    body = data if isinstance(data, str) else dumps(data)
    response = HttpResponse(body, status=status, content_type=FHIR_JSON)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def outcome_response(status, issues, headers=None):
    return fhir_response(operation_outcome(issues), status=status, headers=headers)


def version_headers(resource_type, resource_id, version_id, last_updated, base):
    return {
        "ETag": etag(version_id),
        "Last-Modified": format_datetime(last_updated, usegmt=True),
        "Content-Location": f"{base}/{resource_type}/{resource_id}/_history/{version_id}",
    }


def entry_text(full_url=None, resource_text=None, **parts):
    """One Bundle entry as JSON text; `parts` (search, request, response) are dicts."""
    items = []
    if full_url:
        items.append(f'"fullUrl":{json.dumps(full_url)}')
    if resource_text:
        items.append(f'"resource":{resource_text}')
    for key, value in parts.items():
        if value is not None:
            items.append(f'"{key}":{dumps(value)}')
    return "{" + ",".join(items) + "}"


def bundle_text(bundle, entries):
    """A Bundle's JSON: `bundle` holds the other elements, `entries` are entry texts."""
    head = dumps(bundle)
    if not entries:
        return head
    return head[:-1] + ',"entry":[' + ",".join(entries) + "]}"


def match_entry(resource, base, mode="match"):
    return entry_text(
        f"{base}/{resource.resource_type}/{resource.resource_id}",
        resource.body,
        search={"mode": mode},
    )


def page_links(url, params, offset, count, total, page_len, more=None):
    """self/first/previous/next links for offset paging over `params` (list of pairs);
    `more` says whether matches follow the page when no total was counted."""
    kept = [(k, v) for k, v in params if k not in ("_offset", "_count")]

    def link(relation, at):
        query = urlencode([*kept, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{url}?{query}"}

    links = [link("self", offset), link("first", 0)]
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    if total is not None:
        has_more = offset + page_len < total
    else:
        has_more = more if more is not None else page_len >= count > 0
    if has_more and count > 0:
        links.append(link("next", offset + count))
    return links


def history_entry(version, base):
    url = f"{base}/{version.resource_type}/{version.resource_id}"
    method = version.method
    return entry_text(
        url,
        version.text,
        request={"method": method, "url": f"{version.resource_type}/{version.resource_id}"},
        response={
            "status": "410 Gone"
            if version.deleted
            else ("201 Created" if version.version_id == 1 else "200 OK"),
            "etag": etag(version.version_id),
            "lastModified": format_instant(version.last_updated),
        },
    )
