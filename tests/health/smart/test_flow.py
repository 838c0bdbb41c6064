"""The whole SMART standalone patient launch, as a client runs it (issue 11)."""

import json

from django.conf import settings
from django.test import Client

import pytest
from bs4 import BeautifulSoup
from jwcrypto import jwk, jwt

from health.fhir.models import AuditEvent
from health.smart.models import Connection

from .conftest import FULL_SCOPE, REDIRECT, api, approve, code_from, exchange

pytestmark = pytest.mark.django_db


def test_the_whole_flow(app, signed_in, resident, records):
    anonymous = Client()
    # 1. Discovery, at the FHIR base and in the CapabilityStatement, naming the same endpoints.
    config = anonymous.get("/fhir/.well-known/smart-configuration").json()
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "launch-standalone" in config["capabilities"]
    assert "permission-patient" in config["capabilities"]
    assert {"launch/patient", "openid", "fhirUser", "offline_access"} <= set(
        config["scopes_supported"]
    )
    metadata = anonymous.get("/fhir/metadata").json()
    security = metadata["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    (oauth_uris,) = security["extension"]
    uris = {e["url"]: e["valueUri"] for e in oauth_uris["extension"]}
    assert uris["authorize"] == config["authorization_endpoint"]
    assert uris["token"] == config["token_endpoint"]
    assert uris["revoke"] == config["revocation_endpoint"]
    path = lambda url: url.removeprefix("http://testserver")  # noqa: E731

    # 2. Authorise with PKCE: the resident signs in and sees what the app will see.
    signed_out = anonymous.get(path(config["authorization_endpoint"]), {"client_id": "x"})
    assert signed_out.status_code == 302 and "/accounts/login/" in signed_out["Location"]
    response, verifier = approve(signed_in, app, FULL_SCOPE)
    code = code_from(response)

    # 3. Token: the Patient comes with it; the id_token names it as fhirUser.
    token = exchange(app, code, verifier)
    assert token.status_code == 200, token.content
    grant = token.json()
    assert grant["token_type"] == "Bearer"
    assert grant["patient"] == records["a"]
    assert set(grant["scope"].split()) == set(FULL_SCOPE.split())
    assert grant["refresh_token"]
    keys = jwk.JWKSet.from_json(anonymous.get(path(config["jwks_uri"])).content)
    claims = json.loads(jwt.JWT(jwt=grant["id_token"], key=keys).claims)
    assert claims["fhirUser"] == f"http://testserver/fhir/Patient/{records['a']}"
    assert claims["aud"] == app.client_id
    # A code is good once.
    assert exchange(app, code, verifier).status_code == 400

    # 4. Read Patient, search Observation: the resident's own record only.
    client = api(grant["access_token"])
    patient = client.get(f"/fhir/Patient/{records['a']}")
    assert patient.status_code == 200
    assert patient.json()["name"][0]["family"] == "Alpha"
    found = client.get("/fhir/Observation").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [records["obs_a"]]
    by_patient = client.get("/fhir/Observation", {"patient": records["a"]}).json()
    assert [e["resource"]["id"] for e in by_patient["entry"]] == [records["obs_a"]]

    # Audited under the app's name, and shown so in "Who viewed my record".
    events = AuditEvent.objects.filter(app="Step Counter", patient_id=records["a"])
    assert set(events.values_list("action", flat=True)) >= {"read", "search"}
    assert set(events.values_list("user", flat=True)) == {resident.pk}
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    log = signed_in.get("/health/access/")
    rows = [
        [cell.get_text(strip=True) for cell in row.find_all("td")]
        for row in BeautifulSoup(log.content, "html.parser").select("tbody tr")
    ]
    assert any(row[1:3] == ["Step Counter, for you", "Connected app"] for row in rows), rows

    # 5. Refresh: a new access token; the old one and the old refresh token are spent.
    refreshed = anonymous.post(
        path(config["token_endpoint"]),
        {
            "grant_type": "refresh_token",
            "refresh_token": grant["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    renewed = refreshed.json()
    assert renewed["access_token"] != grant["access_token"]
    assert renewed["patient"] == records["a"]
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 401
    client = api(renewed["access_token"])
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 200

    # 6. The resident sees the app with its last use, and revokes it.
    page = signed_in.get("/health/apps/")
    assert "Step Counter" in page.content.decode()
    connection = Connection.objects.get(user=resident, application=app)
    assert connection.last_used_at is not None
    gone = signed_in.post(f"/health/apps/{connection.pk}/disconnect/")
    assert gone.status_code == 302

    # 7. At once: 401 for the access token, and the refresh token no longer works.
    denied = client.get(f"/fhir/Patient/{records['a']}")
    assert denied.status_code == 401
    assert denied["WWW-Authenticate"].startswith("Bearer")
    assert denied.json()["resourceType"] == "OperationOutcome"
    again = anonymous.post(
        path(config["token_endpoint"]),
        {
            "grant_type": "refresh_token",
            "refresh_token": renewed["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert again.status_code == 400
    assert not Connection.objects.filter(user=resident).exists()
    assert REDIRECT  # the app's redirect URI was the only place codes went
