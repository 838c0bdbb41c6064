"""django-oauth-toolkit's request validator with SMART's rules
(OAUTH2_PROVIDER['OAUTH2_VALIDATOR_CLASS']).

- A request may ask only for scopes the app is allowed (`scopes.covers`), and only read
  scopes of one patient: nothing else is ever granted. PKCE is required, with S256.
- The token response names the Patient (`patient`), as SMART's standalone patient launch
  asks; the id_token carries `fhirUser` (the Patient's URL) when `openid fhirUser` was
  granted.
- A refresh token is issued only with `offline_access`.
- Tokens are issued only for a live connection (the resident's consent): a connection
  revoked between consent and the token request gets no token.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors

from portal.mypage.panels import changed

from . import scopes as smart_scopes
from .models import Connection


def fhir_base(request):
    """The FHIR base URL as seen from an oauthlib request (to the token endpoint), built
    the way django-oauth-toolkit builds its issuer."""
    if settings.FHIR_BASE_URL:
        return settings.FHIR_BASE_URL.rstrip("/")
    discovery = reverse("oauth2_provider:oidc-connect-discovery-info")
    prefix = discovery[: -len("/.well-known/openid-configuration")]
    root = oauth2_settings.oidc_issuer(request).removesuffix(prefix)
    return root + reverse("fhir:root").rstrip("/")


class SmartValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "fhirUser": smart_scopes.FHIR_USER}

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if (
            getattr(request, "response_type", None) == "code"
            and (getattr(request, "code_challenge_method", None) or "plain") != "S256"
        ):
            # SMART asks for S256; refused before the consent screen, not after it.
            raise errors.InvalidRequestError(
                description='Use PKCE with code_challenge_method "S256"', request=request
            )
        smart = getattr(client, "smart", None)
        if smart is None or not scopes:
            return False
        allowed = smart.allowed_scopes.split()
        return all(smart_scopes.covers(allowed, word) for word in scopes)

    def _connection(self, request):
        if request.user is None or request.client is None:
            return None
        return Connection.objects.filter(user=request.user, application=request.client).first()

    def save_bearer_token(self, token, request, *args, **kwargs):
        connection = self._connection(request)
        if connection is None:
            raise errors.InvalidGrantError(
                description="The resident disconnected this app", request=request
            )
        granted = token.get("scope", "").split()
        if smart_scopes.OFFLINE not in granted:
            token.pop("refresh_token", None)
        super().save_bearer_token(token, request, *args, **kwargs)
        # Added after saving: oauthlib sends this dict as the token response.
        token["patient"] = connection.patient_id
        Connection.objects.filter(pk=connection.pk).update(last_used_at=timezone.now())
        changed(connection.user_id)  # My page shows the last use (a cached panel)

    def get_additional_claims(self, request):
        connection = self._connection(request)
        if connection is None:
            return {}
        return {"fhirUser": f"{fhir_base(request)}/Patient/{connection.patient_id}"}
