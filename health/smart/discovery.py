"""What the server tells SMART clients about itself: `.well-known/smart-configuration`
and the security part of the CapabilityStatement. Both are built from the routes and
settings the server runs on, so they claim nothing it does not do."""

from django.conf import settings
from django.urls import reverse

from oauth2_provider.settings import oauth2_settings

from . import scopes as smart_scopes

# The SMART capabilities this server implements (SMART App Launch 2.x).
CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-patient",
    "permission-v1",
    "permission-v2",
    "permission-offline",
    "sso-openid-connect",
]


def _absolute(root, name):
    return root + reverse(name)


def _root(base):
    """The site root (scheme and host) of a FHIR base URL."""
    fhir_path = reverse("fhir:root").rstrip("/")
    if fhir_path and base.endswith(fhir_path):
        return base[: -len(fhir_path)]
    return settings.PORTAL_BASE_URL


def configuration(base):
    """The smart-configuration document for the FHIR base URL `base`."""
    root = _root(base)
    return {
        "issuer": _absolute(root, "oauth2_provider:oidc-connect-discovery-info")[
            : -len("/.well-known/openid-configuration")
        ],
        "jwks_uri": _absolute(root, "oauth2_provider:jwks-info"),
        "authorization_endpoint": _absolute(root, "oauth2_provider:authorize"),
        "token_endpoint": _absolute(root, "oauth2_provider:token"),
        "revocation_endpoint": _absolute(root, "oauth2_provider:revoke-token"),
        "userinfo_endpoint": _absolute(root, "oauth2_provider:user-info"),
        "management_endpoint": _absolute(root, "smart:apps"),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": list(
            oauth2_settings.OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED
        ),
        "scopes_supported": [
            *smart_scopes.CONTEXT_SCOPES,
            "patient/*.rs",
            "patient/*.read",
            "patient/Patient.rs",
            "patient/Observation.rs",
        ],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def capability_security(base):
    """The CapabilityStatement's rest.security additions (health.fhir.capability)."""
    endpoints = configuration(base)
    return {
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                        "display": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ],
        "extension": [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [
                    {"url": "authorize", "valueUri": endpoints["authorization_endpoint"]},
                    {"url": "token", "valueUri": endpoints["token_endpoint"]},
                    {"url": "revoke", "valueUri": endpoints["revocation_endpoint"]},
                    {"url": "manage", "valueUri": endpoints["management_endpoint"]},
                ],
            }
        ],
        "description": (
            "Residents' own health apps: SMART App Launch (standalone patient launch), "
            "authorization code with PKCE (S256), read-only patient/ scopes, consent by the "
            "resident; see .well-known/smart-configuration."
        ),
    }
