"""Security headers every response gets, set in one place (docs/architecture.md, "Security
headers").

- Content-Security-Policy: django-csp's middleware writes `CONTENT_SECURITY_POLICY` (self only;
  a nonce is added when a template asks for `request.csp_nonce`). The back office under
  `/admin/` gets `PORTAL_ADMIN_CSP_DIRECTIVES` instead: Wagtail 8 writes inline scripts and
  style attributes that carry no nonce (wagtail/wagtail#1288), so there the policy allows
  inline code but still no other origin, no plug-ins and no framing by other sites.
- Cache-Control: private answers must never sit in a shared cache (a proxy, a CDN, a
  library's computer's disk cache). `PrivateCacheMiddleware` marks them `no-store` by rule,
  not view by view: everything under `PORTAL_PRIVATE_PATH_PREFIXES` (health record, inbox,
  My page, account pages and data exports, case pages and documents, appointments and their
  .ics files, FHIR and the APIs, the back office), every answer to a signed-in user or to a
  request with credentials (Authorization header), unless a view declared its answer public.
  Anonymous public pages (home, clinics, transit, the service catalogue) stay cacheable.

X-Content-Type-Options, Referrer-Policy, X-Frame-Options and HSTS come from Django's own
SecurityMiddleware and XFrameOptionsMiddleware (settings "Security").
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.static import serve

from csp.middleware import CSPMiddleware, PolicyParts

ADMIN_PREFIX = "/admin/"


def is_admin_path(path):
    return path.startswith(ADMIN_PREFIX)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the back office's policy under /admin/."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and parts.config is None and is_admin_path(request.path_info):
            # No nonce here: a nonce would make browsers ignore 'unsafe-inline'.
            return PolicyParts(
                config=settings.PORTAL_ADMIN_CSP_DIRECTIVES,
                update=parts.update,
                replace=parts.replace,
                nonce=None,
            )
        return parts


def is_private(request, response):
    """Whether this answer may hold someone's private data (see the module docstring)."""
    if request.path_info.startswith(tuple(settings.PORTAL_PRIVATE_PATH_PREFIXES)):
        return True
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    if not (signed_in or "authorization" in request.headers):
        return False
    cache_control = response.get("Cache-Control", "")
    return "public" not in [part.strip() for part in cache_control.lower().split(",")]


class PrivateCacheMiddleware:
    """`Cache-Control: no-store` (with Django's never-cache headers) on private answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", "") and is_private(request, response):
            add_never_cache_headers(response)
        return response


def local_path(request, candidate):
    """`candidate` (a `next` or a Referer) as a path on this site ("/clinics/?service=2"), or
    None. Only a path survives (an absolute URL of this host is cut to its path): "foo" or
    "a:b" would otherwise be taken for a URL pattern name by redirect() and end in a 500."""
    if not candidate or not candidate.isprintable():
        return None
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(candidate)
    if parts.path.startswith("/") and not parts.path.startswith("//"):
        return urlunsplit(("", "", parts.path, parts.query, ""))
    return None


def serve_media(request, path):
    """Uploaded files when DEBUG is on (the embedded run): Django's static serve, with a name
    the file system refuses (too long, a NUL) a 404 instead of the OSError's 500."""
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except (OSError, ValueError) as exc:
        raise Http404 from exc
