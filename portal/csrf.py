"""The reader's CSRF token for a page rendered once and sent to many: a cached public page
(cms/page_cache.py) or a resident's cached My page (portal/mypage/views.py) keeps a
placeholder where `{% csrf_token %}` stood, and each answer gets this reader's own token."""

import secrets

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

# The reader's CSRF token, as django.middleware.csrf.get_token makes it (the secret kept in the
# reader's CSRF cookie, a fresh mask for each answer, CSRF_ALLOWED_CHARS throughout), but with
# the random characters drawn from one call to the OS's generator instead of one call each:
# Django's get_random_string makes 64 system calls per token (a quarter of a cached page's cost).
# Bytes below 248 (4 × 62) map evenly onto the 62 characters; the rest are drawn again.
_CSRF_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}
_CSRF_EVEN = 256 - 256 % len(CSRF_ALLOWED_CHARS)


def _random_indices(count):
    drawn = []
    while len(drawn) < count:
        drawn += [b % len(CSRF_ALLOWED_CHARS) for b in secrets.token_bytes(count) if b < _CSRF_EVEN]
    return drawn[:count]


def reader_csrf_token(request):
    """A new masked token for this reader's CSRF secret (a new secret, and so a new CSRF cookie,
    for a reader without one): what a rendered page's {% csrf_token %} would hold."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        chars = CSRF_ALLOWED_CHARS
        secret = "".join(chars[i] for i in _random_indices(CSRF_SECRET_LENGTH))
        request.META["CSRF_COOKIE"] = secret
    elif len(secret) != CSRF_SECRET_LENGTH or not set(secret) <= _CSRF_INDEX.keys():
        return get_token(request)  # not a secret this function knows how to mask: Django's way
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # the cookie goes out, as with get_token
    chars, count = CSRF_ALLOWED_CHARS, len(CSRF_ALLOWED_CHARS)
    mask = _random_indices(CSRF_SECRET_LENGTH)
    cipher = "".join(chars[(_CSRF_INDEX[c] + m) % count] for c, m in zip(secret, mask, strict=True))
    return "".join(chars[m] for m in mask) + cipher
