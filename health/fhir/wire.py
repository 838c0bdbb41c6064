"""How the store reads and writes JSON, instants and version tags: one definition for the
store, the responses and the projections.

Numbers are kept exactly as written: FHIR requires a decimal to keep its precision, so
`105.00` is read back as `105.00`, not `105.0`, and `66.899999999999991` is not rounded to
the nearest double. `loads` keeps each decimal's text (a Decimal that prints as it was
written) and `dumps` writes it back unchanged (simplejson, which writes Decimals as their
text; the standard library cannot).
"""

from datetime import UTC
from decimal import Decimal

import simplejson

from .errors import FhirError

# FHIR integers are 32 or 64 bits; a decimal written without a point is still a number a
# person wrote. Longer integer literals are refused (Python itself stops at 4,300 digits).
MAX_INTEGER_DIGITS = 64
# How deep a body may nest: a Bundle of Questionnaires with nested items stays far below;
# anything deeper is an attack on the parser, not a health record.
MAX_DEPTH = 100


class ExactDecimal(Decimal):
    """A JSON number with a fraction or exponent, printed exactly as it was written."""

    __slots__ = ("text",)

    def __new__(cls, text):
        number = Decimal.__new__(cls, text)
        number.text = text
        return number

    def __str__(self):
        return self.text

    __repr__ = __str__


def _integer(text):
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


_ENCODER = simplejson.JSONEncoder(use_decimal=True, ensure_ascii=False, separators=(",", ":"))


def dumps(data):
    """Compact JSON as stored and served (decimals exactly as they were read)."""
    return _ENCODER.encode(data)


def loads(text):
    """Decode JSON keeping every number's precision; FhirError (400) for anything that is
    not JSON, nests deeper than MAX_DEPTH or holds an over-long integer."""
    try:
        data = simplejson.loads(text, parse_float=ExactDecimal, parse_int=_integer)
    except simplejson.JSONDecodeError as exc:
        raise FhirError(
            400,
            f"Invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            code="structure",
        ) from exc
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        raise FhirError(400, f"Invalid JSON number: {exc}", code="structure") from None
    check_depth(data)
    return data


def _too_deep():
    return FhirError(400, f"The JSON nests deeper than {MAX_DEPTH} levels", code="structure")


def check_depth(data):
    """Raise FhirError (400) when a decoded value nests deeper than MAX_DEPTH."""
    level = [data] if type(data) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep()
        following = []
        push = following.append
        for node in level:
            # Plain loops: this runs over every element of every file an import reads.
            for value in node.values() if type(node) is dict else node:
                kind = type(value)
                if kind is dict or kind is list:
                    push(value)
        level = following


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
