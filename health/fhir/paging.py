"""The paging parameters history and $everything share: _since, _count, _offset."""

from .errors import FhirError
from .searchparams import date_range
from .shaping import check_format

IGNORED = ("_pretty",)
# An offset beyond any store's size; larger ones are a client's mistake, not a page.
MAX_OFFSET = 10**9


def whole_number(name, value):
    """A whole number in ASCII digits ("²" and "٣" are digits to str.isdigit, not here)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise FhirError(400, f"{name} must be a whole number", code="invalid")
    return int(value)


class Paging:
    """_since, _count (capped) and _offset from query parameters; 400 for a bad value."""

    def __init__(self, default_count, max_count):
        self.since = None
        self.count = min(default_count, max_count)
        self.offset = 0
        self.max_count = max_count

    def take(self, key, value):
        """Use one query parameter if it is a paging one; False leaves it to the caller."""
        if key == "_since":
            rng = date_range(value)
            if rng is None:
                raise FhirError(400, "_since must be an instant", code="invalid")
            self.since = rng[0]
        elif key == "_count":
            self.count = min(whole_number("_count", value), self.max_count)
        elif key == "_offset":
            self.offset = whole_number("_offset", value)
            if self.offset > MAX_OFFSET:
                raise FhirError(400, f"_offset must be at most {MAX_OFFSET}", code="invalid")
        elif key == "_format":
            check_format(value)
        elif key not in IGNORED:
            return False
        return True
