"""Identity card numbers: normalising and checking them (Hong Kong HKID and the mainland's
18-digit resident identity number), so a typo does not link a case to the wrong person."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_HKID = re.compile(r"^([A-Z]{1,2})([0-9]{6})([0-9A])$")
_MAINLAND = re.compile(r"^[0-9]{17}[0-9X]$")
_MAINLAND_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def normalise(value):
    """Upper case, without spaces, brackets or hyphens: "a123456(3)" → "A1234563"."""
    return re.sub(r"[\s()（）\-]", "", str(value or "")).upper()


def _hkid_ok(number):
    match = _HKID.match(number)
    if not match:
        return False
    letters, digits, check = match.groups()
    letters = letters.rjust(2, " ")
    values = [36 if c == " " else ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    return (total + (10 if check == "A" else int(check))) % 11 == 0


def _mainland_ok(number):
    if not _MAINLAND.match(number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _MAINLAND_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17]


def is_valid(number):
    number = normalise(number)
    return _hkid_ok(number) or _mainland_ok(number)


def validate_id_number(value):
    if not is_valid(value):
        raise ValidationError(
            _(
                "This is not a valid identity card number. Check it against the card, "
                "including the digit in brackets."
            ),
            code="id_checksum",
        )
