"""Cross-origin access for browser-only apps (CORS), the one place that decides it.

A resident's app that runs only in the browser (a public client with PKCE, no server of its
own) calls the token endpoint and the FHIR API from its own origin; without CORS headers the
browser hides every answer from it. django-cors-headers writes the headers; this module says
when:

- discovery (`.well-known/smart-configuration`, `/fhir/metadata`) describes the server to
  anyone: any origin may read it;
- the token, revoke and userinfo endpoints and the FHIR API answer only the origins of
  registered apps. An app's origins are those of its redirect URIs (an app that lands on
  https://app.example/callback runs at https://app.example), kept in django-oauth-toolkit's
  `allowed_origins`, which DOT itself checks at the token endpoint;
- never with credentials: apps send a Bearer token, and a resident's session cookie is
  never honoured across origins (no `Access-Control-Allow-Credentials`);
- every other path of the portal gets no CORS headers and no preflight answer.
"""

import re
from urllib.parse import urlsplit

from oauth2_provider.models import get_application_model

PUBLIC = re.compile(r"^/(fhir/)?\.well-known/smart-configuration$|^/fhir/metadata$")
FOR_APPS = re.compile(r"^/fhir(/.*)?$|^/oauth/(token|revoke|userinfo)/$")


def origins_of(redirect_uris):
    """The web origins of an app's redirect URIs, space-separated as DOT stores them (custom
    schemes of phone apps have no web origin and need none)."""
    origins = []
    for uri in redirect_uris.split():
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return " ".join(dict.fromkeys(origins))


def follow_redirect_uris(sender, instance, **kwargs):
    """pre_save of DOT's Application: its origins are always those of its redirect URIs,
    however it is saved (the admin's form, a shell, a test)."""
    instance.allowed_origins = origins_of(instance.redirect_uris)
    update_fields = kwargs.get("update_fields")
    if (
        update_fields
        and "redirect_uris" in update_fields
        and "allowed_origins" not in update_fields
    ):
        # save(update_fields=...) writes only what it names: write the origins beside it.
        sender.objects.filter(pk=instance.pk).update(allowed_origins=instance.allowed_origins)


def registered_origin(origin):
    """Whether some registered app runs at `origin` (one query, only for cross-origin calls
    to the API paths)."""
    for allowed in (
        get_application_model()
        .objects.exclude(allowed_origins="")
        .values_list("allowed_origins", flat=True)
    ):
        if origin in allowed.split():
            return True
    return False


def cors_allowed(sender, request, **kwargs):
    """django-cors-headers' `check_request_enabled` signal: True lets this request's origin
    read the answer (and answers its preflight). Called for every request: cheap unless the
    path is one of the few above and the request names an origin."""
    cached = getattr(request, "_portal_cors", None)
    if cached is not None:
        return cached
    path = request.path_info
    origin = request.headers.get("Origin", "")
    if PUBLIC.match(path):
        allowed = True
    elif origin and FOR_APPS.match(path):
        allowed = registered_origin(origin)
    else:
        allowed = False
    request._portal_cors = allowed
    return allowed
