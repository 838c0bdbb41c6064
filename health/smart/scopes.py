"""SMART App Launch scopes for residents' apps: which an app may be allowed, which a
request may ask for, and how a consent screen names them.

Apps reach one patient's record and only read it: resource scopes are `patient/` scopes with
read and search permissions (`patient/*.rs`, `patient/Observation.rs`, v1's
`patient/Observation.read`; also `.r` or `.s` alone). Beside them SMART's context scopes:
`openid fhirUser` (an id_token naming the Patient), `launch/patient` (the token response
names the Patient) and `offline_access` (a refresh token). The resource scope grammar is the
store's own (health.fhir.access.parse_scopes), so a token never means more here than there.
"""

from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from health.fhir.access import parse_scopes
from health.fhir.validation import is_storable_type, resource_types

OPENID, FHIR_USER, LAUNCH_PATIENT, OFFLINE = (
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
)
CONTEXT_SCOPES = (OPENID, FHIR_USER, LAUNCH_PATIENT, OFFLINE)
READ_ONLY = set("rs")


def resource_scope(word):
    """The Scope of a patient/ read scope, or None for anything else (context scopes,
    write permissions, user/ or system/ scopes, unknown types, typos)."""
    try:
        (scope,) = parse_scopes(word)
    except ValueError:
        return None
    if scope.context != "patient" or not set(scope.permissions) <= READ_ONLY:
        return None
    if scope.resource_type != "*" and not is_storable_type(scope.resource_type):
        return None
    return scope


def is_supported(word):
    return word in CONTEXT_SCOPES or resource_scope(word) is not None


def unsupported(words):
    """The words of a scope list an app may not be allowed (for the admin form)."""
    return [word for word in words if not is_supported(word)]


def covers(allowed, word):
    """Whether the app's allowed scopes (a list of words) include the requested `word`:
    context scopes by name; a resource scope when an allowed one has its type (or *) and
    at least its permissions."""
    if word in CONTEXT_SCOPES:
        return word in allowed
    wanted = resource_scope(word)
    if wanted is None:
        return False
    for other in allowed:
        scope = resource_scope(other)
        if (
            scope is not None
            and scope.resource_type in ("*", wanted.resource_type)
            and set(wanted.permissions) <= set(scope.permissions)
        ):
            return True
    return False


def resource_scopes(words):
    """The patient/ read Scopes among granted scope words (the rest are context scopes)."""
    return [scope for scope in map(resource_scope, words) if scope is not None]


def plain_words(words):
    """What the scopes let an app see, as lines a resident reads on the consent screen and
    the list of connected apps (translated, no scope syntax)."""
    from health.records.labels import resource_type_label

    scopes = resource_scopes(words)
    lines = []
    if any(scope.resource_type == "*" for scope in scopes):
        lines.append(_("Everything in your health record"))
    else:
        names = []
        for scope in scopes:
            label = str(resource_type_label(scope.resource_type))
            if label not in names:
                names.append(label)
        lines.extend(names)
    if OPENID in words and FHIR_USER in words:
        lines.append(_("Who you are: which health record is yours"))
    elif LAUNCH_PATIENT in words:
        lines.append(_("Which health record is yours"))
    if OFFLINE in words:
        lines.append(_("Access while you are not using the app, until you disconnect it"))
    return lines


@lru_cache(maxsize=1)
def all_scopes():
    """Every scope an app can be granted, with a description (django-oauth-toolkit lists
    a token's scopes through this table)."""
    table = {word: word for word in CONTEXT_SCOPES}
    for resource_type in ["*", *(t for t in resource_types() if is_storable_type(t))]:
        for permissions in ("rs", "r", "s", "read"):
            word = f"patient/{resource_type}.{permissions}"
            table[word] = word
    return table


class SmartScopes:
    """django-oauth-toolkit's scopes backend (OAUTH2_PROVIDER['SCOPES_BACKEND_CLASS'])."""

    def get_all_scopes(self):
        return all_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        smart = getattr(application, "smart", None) if application is not None else None
        if smart is None:
            return []
        allowed = smart.allowed_scopes.split()
        return [word for word in all_scopes() if covers(allowed, word)]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # A SMART app names the scopes it wants; none is no request at all.
        return []
