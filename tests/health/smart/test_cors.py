"""Browser-only apps (public clients with PKCE) read the token endpoint and the FHIR API from
their own origin: CORS for registered apps' origins only, never with credentials, and nowhere
else in the portal (health/smart/cors.py)."""

from django.test import Client

import pytest

from health.smart.cors import origins_of

from .conftest import approve, code_from, make_app

pytestmark = pytest.mark.django_db

APP = "https://app.example"
STRANGER = "https://evil.example"


def preflight(path, origin, method="GET", headers="authorization"):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_an_apps_origin_follows_its_redirect_uris():
    assert (
        origins_of(
            "https://app.example/callback https://APP.example/other http://localhost:8080/cb "
            "com.example.steps:/oauth"
        )
        == "https://app.example http://localhost:8080"
    )
    application = make_app()
    assert application.allowed_origins == APP
    # The admin changes redirect URIs with save(update_fields=...): the origins follow.
    application.redirect_uris = "https://new.example/cb"
    application.save(update_fields=["redirect_uris"])
    application.refresh_from_db()
    assert application.allowed_origins == "https://new.example"


def test_a_registered_app_may_call_the_fhir_api_from_the_browser(app, signed_in, records):
    answer = preflight(f"/fhir/Patient/{records['a']}", APP)
    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == APP
    assert "authorization" in answer["Access-Control-Allow-Headers"]
    assert "GET" in answer["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in answer

    response, verifier = approve(signed_in, app)
    token = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code_from(response),
            "redirect_uri": f"{APP}/callback",
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
        HTTP_ORIGIN=APP,
    )
    assert token.status_code == 200, token.content
    assert token["Access-Control-Allow-Origin"] == APP
    read = Client().get(
        f"/fhir/Patient/{records['a']}",
        HTTP_ORIGIN=APP,
        HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}",
        HTTP_ACCEPT="application/fhir+json",
    )
    assert read.status_code == 200
    assert read["Access-Control-Allow-Origin"] == APP
    assert "etag" in read["Access-Control-Expose-Headers"]
    assert "origin" in read["Vary"].lower()
    assert "Access-Control-Allow-Credentials" not in read


def test_an_unregistered_origin_gets_no_cors_headers(app, records):
    for path in (f"/fhir/Patient/{records['a']}", "/oauth/token/"):
        answer = preflight(path, STRANGER, method="POST")
        assert "Access-Control-Allow-Origin" not in answer
    read = Client().get(f"/fhir/Patient/{records['a']}", HTTP_ORIGIN=STRANGER)
    assert "Access-Control-Allow-Origin" not in read


def test_discovery_is_readable_from_any_origin():
    for path in ("/fhir/.well-known/smart-configuration", "/fhir/metadata"):
        response = Client().get(path, HTTP_ORIGIN=STRANGER)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == STRANGER
        assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize("path", ["/me/", "/api/cases/", "/accounts/login/", "/oauth/authorize/"])
def test_the_rest_of_the_portal_is_not_opened_to_apps(app, signed_in, path):
    # A registered app's origin reads nothing else, signed in or not: no preflight answer and
    # no CORS header (the consent screen is a page the resident opens, never a fetch).
    answer = preflight(path, APP)
    assert "Access-Control-Allow-Origin" not in answer
    response = signed_in.get(path, HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
