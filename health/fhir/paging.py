"""The paging parameters history and $everything share: _since, _count, _offset."""

from .errors import FhirError
from .searchparams import date_range

IGNORED = ("_format", "_pretty")


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
            if not value.isdigit():
                raise FhirError(400, "_count must be a whole number", code="invalid")
            self.count = min(int(value), self.max_count)
        elif key == "_offset":
            if not value.isdigit():
                raise FhirError(400, "_offset must be a whole number", code="invalid")
            self.offset = int(value)
        elif key not in IGNORED:
            return False
        return True
