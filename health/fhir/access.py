"""Who is asking, and what they may do: clinic staff, systems with tokens, residents.

Permissions use SMART on FHIR's scope syntax. v2 scopes (`user/Observation.cruds`,
`patient/*.rs`) and v1 scopes (`user/*.read`, `user/*.write`, `user/*.*`) are understood.
`patient/` scopes limit the holder to one patient's compartment; `user/` and `system/` scopes
do not. Limits are returned as a set of Patient ids that search.py applies inside the query,
so paging and totals only ever count what the requester may see.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from portal import scoping
from portal.accounts.roles import CLINIC_STAFF, has_role

from .audit import AuditTrail
from .errors import FhirError, Forbidden
from .links import linked_patient_ids
from .models import ApiToken

PERMISSIONS = "cruds"
_SCOPE_RE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<perms>[cruds]+|\*|read|write)$"
)
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}

STAFF, SYSTEM, RESIDENT = "clinic-staff", "system", "resident"


@dataclass(frozen=True)
class Scope:
    context: str
    resource_type: str
    permissions: str


def parse_scopes(text):
    """Parse a space-separated scope string; unknown or malformed scopes raise ValueError."""
    scopes = []
    for raw in (text or "").split():
        match = _SCOPE_RE.match(raw)
        if not match:
            raise ValueError(f"Not a SMART scope: {raw!r}")
        perms = _V1.get(match["perms"], match["perms"])
        # SMART v2 requires the letters in c-r-u-d-s order; anything else is a typo.
        if "".join(p for p in PERMISSIONS if p in perms) != perms:
            raise ValueError(f"Scope permissions must be in cruds order: {raw!r}")
        scopes.append(Scope(match["context"], match["type"], perms))
    return scopes


@dataclass(eq=False)
class Requester:
    """The authenticated party of one request, and its audit trail.

    `kind` is the audit role (clinic-staff, system, resident); `label` names the person or
    system; `app` names the application acting for them when there is one (a resident's
    connected health app), so "Who viewed my record" can say so. Other ways to authenticate
    (an OAuth access token of a connected app) make a Requester through
    `register_authenticator` and reuse everything below: scopes, compartments, audit.
    """

    kind: str
    label: str
    scopes: list = field(default_factory=list)
    user: object = None
    token: object = None
    # The Patient ids that patient/ scopes are bound to (linked records for a resident).
    patient_ids: frozenset = frozenset()
    app: str = ""
    audit: AuditTrail = field(default=None, repr=False)
    # For staff with user/ scopes: the Patient compartments they may open (portal.scoping's
    # PATIENTS subjects), always with "" (the resources in no compartment: Practitioner,
    # Organization, Location); None when unlimited (superusers, systems).
    patient_scope: frozenset | None = None

    def __post_init__(self):
        if self.audit is None:
            self.audit = AuditTrail(self)

    def _granting(self, resource_type, permission):
        return [
            s
            for s in self.scopes
            if permission in s.permissions and s.resource_type in ("*", resource_type)
        ]

    def allows(self, resource_type, permission):
        return bool(self._granting(resource_type, permission))

    def compartment(self, resource_type, permission):
        """None if unrestricted, else the set of Patient ids the requester is limited to.

        Raises Forbidden when no scope grants the permission on the type at all.
        """
        granting = self._granting(resource_type, permission)
        if not granting:
            raise Forbidden(f"No scope grants '{permission}' on {resource_type}")
        if any(s.context == "system" for s in granting):
            return None
        if any(s.context == "user" for s in granting):
            return self.patient_scope
        return self.patient_ids

    def may_see(self, resource_type, patient_id, permission="r"):
        """Whether a stored resource in `patient_id`'s compartment is visible."""
        if not self.allows(resource_type, permission):
            return False
        limit = self.compartment(resource_type, permission)
        return limit is None or (patient_id or "") in limit

    def may_admit(self):
        """Whether this requester may open compartments of Patients it creates (staff limited
        by patient_scope): see store.check_write."""
        return self.patient_scope is not None

    def admit(self, patient_ids):
        """Open the compartments of Patients this requester is creating: at once, and, when
        called inside the creating write's transaction (so a failed write leaves nothing),
        in later requests through portal.scoping's claimers (the creator's clinics)."""
        if self.patient_scope is None:
            return
        self.patient_scope = self.patient_scope | frozenset(patient_ids)
        if self.user is not None and transaction.get_connection().in_atomic_block:
            scoping.claim(self.user, scoping.PATIENTS, sorted(set(patient_ids) - {""}))

    @property
    def patient_limit(self):
        """The Patient ids all this requester's access is limited to (a resident, a patient
        app), or None for one with user/ or system/ scopes. Such a requester must not learn
        whether anything outside those records exists."""
        if any(scope.context != "patient" for scope in self.scopes):
            return None
        return self.patient_ids

    @property
    def audit_role(self):
        return self.kind


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(name, scopes, *, patient_id="", created_by=None, expires_at=None):
    """Create an API token; returns (ApiToken, the token text to hand over once)."""
    parsed = parse_scopes(scopes)
    if not parsed:
        raise ValueError("A token needs at least one scope")
    if any(s.context == "patient" for s in parsed) and not patient_id:
        raise ValueError("patient/ scopes need the patient the token is for")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        key_id=key_id,
        secret_hash=hash_secret(secret),
        scopes=" ".join(scopes.split()),
        patient_id=patient_id,
        created_by=created_by,
        expires_at=expires_at,
    )
    return token, f"fhir_{key_id}_{secret}"


def revoke_token(key_id, *, now=None):
    """Stop a token working at once; False if no active token has this key id."""
    return bool(
        ApiToken.objects.filter(key_id=key_id, revoked_at__isnull=True).update(
            revoked_at=now or timezone.now()
        )
    )


def _unauthorized(diagnostics):
    error = FhirError(401, diagnostics, code="login")
    error.headers = {"WWW-Authenticate": 'Bearer realm="fhir"'}
    return error


def authenticate_token(text):
    """The ApiToken for a bearer token text, or raise 401."""
    try:
        prefix, key_id, secret = text.split("_", 2)
    except ValueError:
        raise _unauthorized("Malformed bearer token") from None
    if prefix != "fhir":
        raise _unauthorized("Malformed bearer token")
    token = ApiToken.objects.filter(key_id=key_id).first()
    now = timezone.now()
    if (
        token is None
        or not hmac.compare_digest(token.secret_hash, hash_secret(secret))
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise _unauthorized("Invalid, expired or revoked token")
    # One cheap UPDATE, at most once a minute per token, keeps "last used" useful for audits.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# Functions (request, bearer token text) -> Requester or None, tried in order before the
# district's own API tokens: the place for other token kinds (SMART apps' access tokens).
_AUTHENTICATORS = []


def register_authenticator(authenticate):
    """Add a bearer-token authenticator; it returns a Requester, None when the token is not
    of its kind, or raises FhirError (401) for a token of its kind that is not valid."""
    if authenticate not in _AUTHENTICATORS:
        _AUTHENTICATORS.append(authenticate)
    return authenticate


def requester_for(request):
    """Authenticate a FHIR API request: bearer token first, then the session."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("Only Bearer tokens are accepted")
        for authenticate in _AUTHENTICATORS:
            requester = authenticate(request, credentials.strip())
            if requester is not None:
                return requester
        token = authenticate_token(credentials.strip())
        try:
            scopes = parse_scopes(token.scopes)
        except ValueError:
            scopes = []
        return Requester(
            kind=SYSTEM,
            label=token.name,
            scopes=scopes,
            token=token,
            patient_ids=frozenset([token.patient_id]) if token.patient_id else frozenset(),
        )
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise _unauthorized("Sign in or send a Bearer token")
    return requester_for_user(user)


def requester_for_user(user, linked=None):
    """The Requester for a signed-in person: clinic staff the patients their clinics know
    (portal.scoping, PATIENTS; superusers all), residents their own linked records
    (`linked`: every Patient id the account is linked to, when the caller has just read
    them with links.links_of; read here otherwise)."""
    if has_role(user, CLINIC_STAFF):
        patients = scoping.subjects(user, scoping.PATIENTS)
        return Requester(
            kind=STAFF,
            label=user.get_username(),
            scopes=[Scope("user", "*", PERMISSIONS)],
            user=user,
            patient_scope=None if patients is None else patients | {""},
        )
    return Requester(
        kind=RESIDENT,
        label=user.get_username(),
        scopes=[Scope("patient", "*", "rs")],
        user=user,
        patient_ids=linked_patient_ids(user) if linked is None else frozenset(linked),
    )


def system_requester(label="system"):
    """Full access for trusted server-side callers (management commands, tasks)."""
    return Requester(kind=SYSTEM, label=label, scopes=[Scope("system", "*", PERMISSIONS)])
