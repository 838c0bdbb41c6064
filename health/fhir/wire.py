"""How the store writes JSON, instants and version tags: one definition for the store,
the responses and the projections."""

import json
from datetime import UTC

# One encoder for every body: json.dumps with options builds a new encoder on each call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(data):
    """Compact JSON as stored and served."""
    return _ENCODE(data)


def format_instant(moment):
    """A FHIR instant in UTC with microseconds, e.g. 2026-01-02T03:04:05.123456Z."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def etag(version_id):
    """The weak ETag FHIR uses for a version: W/"3"."""
    return f'W/"{version_id}"'


def parse_etag(value):
    """The version in an If-Match header (W/"3", "3" or 3); None if unreadable."""
    text = (value or "").strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    return text if text.isascii() and text.isdigit() and len(text) <= 9 else None
