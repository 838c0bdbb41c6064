"""Bearer access tokens of residents' apps on /fhir/ (registered with
health.fhir.access.register_authenticator).

A token resolves to a Requester limited to the connected Patient's compartment, with the
read scopes granted (and still allowed for the app), the resident as user and the app's
name as `app`: the store's access rules, 404s and audit apply unchanged, and "Who viewed
my record" names the app. A token of the district's own kind (`fhir_…`) is not ours.
"""

import hashlib

from django.utils import timezone

from oauth2_provider.models import get_access_token_model

from health.fhir.access import Requester, _unauthorized
from portal.mypage.panels import changed

from . import scopes as smart_scopes
from .models import Connection

APP = "app"  # the audit role of an access through a resident's connected app

# "Last used" is written at most this often per connection: one cheap UPDATE.
LAST_USED_RESOLUTION_SECONDS = 60


def authenticate(request, text):
    if text.startswith("fhir_"):
        return None
    checksum = hashlib.sha256(text.encode()).hexdigest()
    token = (
        get_access_token_model()
        .objects.select_related("application__smart", "user")
        .filter(token_checksum=checksum)
        .first()
    )
    now = timezone.now()
    if (
        token is None
        or token.is_expired()
        or token.application is None
        or token.user is None
        or not token.user.is_active
    ):
        raise _unauthorized("Invalid, expired or revoked token")
    connection = Connection.objects.filter(user=token.user, application=token.application).first()
    smart = getattr(token.application, "smart", None)
    if connection is None or smart is None:
        raise _unauthorized("Invalid, expired or revoked token")
    allowed = smart.allowed_scopes.split()
    granted = [word for word in token.scope.split() if smart_scopes.covers(allowed, word)]
    if connection.last_used_at is None or (
        (now - connection.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        Connection.objects.filter(pk=connection.pk).update(last_used_at=now)
        changed(connection.user_id)  # My page shows the last use (a cached panel)
    return Requester(
        kind=APP,
        label=token.user.get_username(),
        scopes=smart_scopes.resource_scopes(granted),
        user=token.user,
        patient_ids=frozenset([connection.patient_id]),
        app=token.application.name,
    )
