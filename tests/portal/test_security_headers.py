"""Every answer carries the security headers (issue 10 §7): a strict Content-Security-Policy,
nosniff, the referrer policy, no framing, HSTS in production; private answers are never stored
by a cache, public pages still may be."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.test import Client

import pytest

from tests.factories import StaffFactory, UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    ServiceFactory,
    SlotFactory,
)
from tests.portal.cases.factories import CaseFactory
from tests.portal.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def resident_with_things(db):
    resident = UserFactory()
    service = ServiceFactory()
    slot = SlotFactory(clinic=ClinicFactory(services=[service]), service=service)
    appointment = AppointmentFactory(slot=slot, resident=resident)
    message = MessageFactory(user=resident, subject="Hello", body="Hi")
    case = CaseFactory(applicant=resident)
    return resident, {"appointment": appointment, "message": message, "case": case}


# What a resident may see of themselves: never stored by any cache.
def private_urls(things):
    appointment, message, case = things["appointment"], things["message"], things["case"]
    return [
        "/me/",
        "/inbox/",
        f"/inbox/{message.pk}/",
        "/inbox/settings/",
        "/health/",
        "/health/summary/",
        "/health/download/",
        "/accounts/settings/",
        "/accounts/profile/",
        "/accounts/data/",
        "/clinics/appointments/",
        f"/clinics/appointments/{appointment.pk}/",
        f"/clinics/appointments/{appointment.pk}/calendar.ics",
        "/clinics/household/",
        "/clinics/",
        "/services/cases/",
        f"/services/cases/{case.pk}/",
        "/transit/favourites/",
        "/fhir/metadata",
        "/fhir/Patient",
    ]


PUBLIC_URLS = ["/", "/transit/", "/services/", "/services/on-time/", "/transit/api/v1/openapi.json"]


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_common_headers(url, response):
    assert response.status_code < 500, url
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "same-origin", url
    assert response["X-Frame-Options"] == "DENY" or url.startswith("/admin/"), url
    assert "Content-Security-Policy" in response, url


def assert_strict_csp(url, response):
    csp = csp_directives(response)
    assert csp["default-src"] == ["'self'"], url
    for directive in ("script-src", "style-src"):
        sources = csp[directive]
        assert sources[0] == "'self'", url
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, url
        assert all(s == "'self'" or s.startswith("'nonce-") for s in sources), url
    assert csp["object-src"] == ["'none'"], url
    assert csp["frame-ancestors"] == ["'none'"], url
    assert csp["base-uri"] == ["'self'"], url
    assert csp["form-action"] == ["'self'"], url
    # Nothing from another origin anywhere in the policy.
    assert not re.search(r"https?:|\*", response["Content-Security-Policy"]), url


def assert_no_store(url, response):
    assert "no-store" in response.get("Cache-Control", ""), url
    assert "public" not in response.get("Cache-Control", ""), url


def test_resident_pages_are_private_and_strict(client, resident_with_things):
    resident, things = resident_with_things
    client.force_login(resident)
    client.cookies["portal_language"] = "en"
    for url in private_urls(things):
        response = client.get(url)
        assert_common_headers(url, response)
        assert_strict_csp(url, response)
        assert_no_store(url, response)
    # The calendar file really was one (not a redirect that happens to be no-store).
    ics = client.get(f"/clinics/appointments/{things['appointment'].pk}/calendar.ics")
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")


def test_public_pages_can_be_cached_but_still_get_the_headers(client):
    client.cookies["portal_language"] = "en"
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_common_headers(url, response)
        assert_strict_csp(url, response)
        assert "no-store" not in response.get("Cache-Control", ""), url


def test_a_public_page_for_a_signed_in_resident_is_not_stored(client, resident):
    """It shows their name and unread count in the header."""
    client.force_login(resident)
    for url in ("/", "/transit/", "/services/"):
        assert_no_store(url, client.get(url))


def test_pages_a_signed_out_visitor_gets_from_private_areas_are_not_stored(client):
    for url in ("/me/", "/health/", "/inbox/", "/accounts/login/", "/fhir/metadata"):
        response = client.get(url)
        assert_common_headers(url, response)
        assert_no_store(url, response)


def test_api_answers_to_credentials_are_not_stored(client):
    response = client.get("/fhir/Patient", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 401
    assert_no_store("/fhir/Patient", response)
    response = client.get("/api/cases/cases", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 401
    assert_no_store("/api/cases/cases", response)


def test_error_pages_get_the_headers(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_common_headers("/no-such-page/", response)
    assert_strict_csp("/no-such-page/", response)


def test_a_nonce_is_in_the_policy_only_when_a_template_used_it(rf):
    from django.http import HttpResponse
    from django.template import engines

    from portal.security import ContentSecurityPolicyMiddleware

    template = engines["django"].from_string('<script nonce="{{ request.csp_nonce }}">1</script>')

    def view(request):
        return HttpResponse(template.render({}, request))

    middleware = ContentSecurityPolicyMiddleware(view)
    request = rf.get("/")
    response = middleware(request)
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in csp_directives(response)["script-src"]
    plain = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("x"))(rf.get("/"))
    assert csp_directives(plain)["script-src"] == ["'self'"]


def test_the_back_office_gets_its_policy_without_a_nonce(client):
    """Wagtail 8 writes inline scripts without a nonce: in /admin/ only, inline code may run,
    still from this origin only and framed by nothing but the admin itself (page preview)."""
    staff = StaffFactory(superuser=True, mfa=True)
    client.force_login(staff)
    for url in ("/admin/", "/admin/pages/", "/admin/health/patients/"):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = csp_directives(response)
        assert csp["script-src"] == ["'self'", "'unsafe-inline'"], url
        assert csp["default-src"] == ["'self'"], url
        assert csp["object-src"] == ["'none'"], url
        assert csp["frame-ancestors"] == ["'self'"], url
        assert not any(s.startswith("'nonce-") for s in csp["script-src"]), url
        assert_no_store(url, response)


def test_a_view_with_its_own_policy_keeps_it(client, resident):
    """A health document answers with a sandbox policy of its own; the middleware leaves it."""
    from portal.security import ContentSecurityPolicyMiddleware

    def view(request):
        from django.http import HttpResponse

        response = HttpResponse("doc")
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    response = ContentSecurityPolicyMiddleware(view)(Client().get("/").wsgi_request)
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_hsts_in_production(settings, client):
    """The production profile turns HSTS on (checked in a fresh interpreter), and with those
    values every answer over HTTPS carries it."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, "
        "'portal.security.ContentSecurityPolicyMiddleware' in s.MIDDLEWARE, "
        "'portal.security.PrivateCacheMiddleware' in s.MIDDLEWARE)"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DATABASE_URL": "postgres://portal:secret@127.0.0.1:5432/portal",
            "SECRET_KEY": "x" * 60,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(settings.MEDIA_ROOT),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seconds, subdomains, redirect, csp, private = result.stdout.split()
    assert int(seconds) >= 31536000 and subdomains == "True" and redirect == "True"
    assert csp == "True" and private == "True"

    settings.SECURE_HSTS_SECONDS = int(seconds)
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/", secure=True)
    assert response["Strict-Transport-Security"].startswith(f"max-age={seconds}")
    assert "includeSubDomains" in response["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/")  # never over plain HTTP


INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>"
    r"|<style(?![^>]*\bnonce=)[^>]*>"
    r"|\son[a-z]+\s*=|\sstyle\s*=|javascript:",
    re.IGNORECASE,
)


def test_no_template_of_the_portal_has_inline_code_without_a_nonce():
    """What the policy would refuse: inline <script>/<style> without a nonce, on*= handlers,
    style= attributes, javascript: links. E-mail templates are not served to browsers."""
    offenders = []
    for folder in ("portal", "health", "transit", "cms"):
        for template in (ROOT / folder).rglob("templates/**/*.html"):
            relative = template.relative_to(ROOT)
            if "email" in relative.parts:
                continue
            for number, line in enumerate(template.read_text().splitlines(), 1):
                if INLINE_CODE.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
