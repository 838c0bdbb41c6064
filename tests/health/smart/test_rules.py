"""What a connected app may and may not do: scopes, PKCE, redirect URIs, other patients,
consent declined, revocation by the app, account closure."""

from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone

import pytest
from oauth2_provider.models import get_access_token_model

from health.fhir.models import PatientLink
from health.smart import services
from health.smart.account_data import AppsOnClosure, export_connected_apps
from health.smart.models import Connection, SmartApp
from tests.factories import UserFactory
from tests.health.fhir.conftest import observation_body

from .conftest import (
    REDIRECT,
    api,
    approve,
    authorize_params,
    code_from,
    consent_form,
    exchange,
    make_app,
    pkce,
)

pytestmark = pytest.mark.django_db


def _error_of(response):
    assert response.status_code == 302, response.content[:1000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)["error"][0]


def test_observation_scope_cannot_read_conditions_or_write(connect, records):
    grant = connect("launch/patient patient/Observation.rs")
    assert grant["patient"] == records["a"]
    assert "refresh_token" not in grant  # no offline_access asked, none given
    client = api(grant["access_token"])
    assert client.get(f"/fhir/Observation/{records['obs_a']}").status_code == 200
    assert client.get("/fhir/Observation").status_code == 200
    for url in (f"/fhir/Condition/{records['cond_a']}", "/fhir/Condition", "/fhir/Patient"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["resourceType"] == "OperationOutcome"
    # .rs is read and search only.
    write = client.post("/fhir/Observation", observation_body(records["a"], value=1))
    assert write.status_code == 403
    update = client.put(
        f"/fhir/Observation/{records['obs_a']}",
        {**observation_body(records["a"]), "id": records["obs_a"]},
    )
    assert update.status_code == 403
    assert client.delete(f"/fhir/Observation/{records['obs_a']}").status_code == 403


def test_another_patients_resources_are_invisible(connect, records):
    client = api(connect()["access_token"])
    for url in (
        f"/fhir/Patient/{records['b']}",
        f"/fhir/Observation/{records['obs_b']}",
        f"/fhir/Observation/{records['obs_b']}/_history/1",
    ):
        assert client.get(url).status_code == 404, url
    # The same answer as for an id that does not exist.
    assert client.get("/fhir/Observation/no-such-id").status_code == 404
    found = client.get("/fhir/Observation", {"patient": records["b"], "_total": "accurate"})
    assert found.status_code == 200
    assert found.json()["total"] == 0
    everyone = client.get("/fhir/Patient").json()
    assert [e["resource"]["id"] for e in everyone["entry"]] == [records["a"]]


def test_wrong_pkce_verifier_is_refused(app, signed_in):
    response, verifier = approve(signed_in, app)
    code = code_from(response)
    wrong = exchange(app, code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B"))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
        },
    )
    assert missing.status_code == 400
    assert not get_access_token_model().objects.exists()


def test_pkce_is_required_and_s256_only(app, signed_in):
    params = authorize_params(app, "patient/*.rs", "x" * 43)
    del params["code_challenge"], params["code_challenge_method"]
    assert _error_of(signed_in.get("/oauth/authorize/", params)) == "invalid_request"
    params = authorize_params(app, "patient/*.rs", "x" * 43)
    params["code_challenge_method"] = "plain"
    assert _error_of(signed_in.get("/oauth/authorize/", params)) == "invalid_request"


def test_redirect_uri_mismatch_is_refused_without_redirecting(app, signed_in):
    _verifier, challenge = pkce()
    evil = "https://evil.example/callback"
    page = signed_in.get(
        "/oauth/authorize/", authorize_params(app, "patient/*.rs", challenge, evil)
    )
    assert page.status_code == 400
    assert "evil.example" not in page.get("Location", "")
    assert "smart-consent" not in page.content.decode()  # no consent form for it
    # Nor may a code issued for the registered URI be redeemed under another one.
    response, verifier = approve(signed_in, app)
    token = exchange(app, code_from(response), verifier, redirect_uri=evil)
    assert token.status_code == 400
    assert not get_access_token_model().objects.exists()


def test_unknown_client_is_refused_without_redirecting(signed_in):
    _verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "nobody",
        "redirect_uri": REDIRECT,
        "scope": "patient/*.rs",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = signed_in.get("/oauth/authorize/", params)
    assert page.status_code in (400, 401)
    assert not page.has_header("Location")


def test_scopes_beyond_what_the_app_is_allowed_are_refused(signed_in):
    app = make_app(name="Scale", scopes="patient/Observation.rs launch/patient")
    _verifier, challenge = pkce()
    for scope in (
        "patient/*.rs",
        "patient/Condition.rs",
        "patient/Observation.cruds",
        "user/Observation.rs",
        "offline_access patient/Observation.rs",
        "patient/Nonsense.rs",
    ):
        response = signed_in.get("/oauth/authorize/", authorize_params(app, scope, challenge))
        assert _error_of(response) == "invalid_scope", scope
    # v1 spelling of what it is allowed is fine.
    page = signed_in.get(
        "/oauth/authorize/", authorize_params(app, "patient/Observation.read", challenge)
    )
    assert page.status_code == 200


def test_declining_shares_nothing(app, signed_in, resident):
    response, _verifier = approve(signed_in, app, allow=False)
    assert _error_of(response) == "access_denied"
    assert not Connection.objects.filter(user=resident).exists()


def test_without_a_linked_record_there_is_nothing_to_allow(app):
    user = UserFactory()
    signed_in = Client()
    signed_in.force_login(user)
    _verifier, challenge = pkce()
    params = authorize_params(app, "launch/patient patient/*.rs", challenge)
    page = signed_in.get("/oauth/authorize/", params)
    assert page.status_code == 200
    assert 'name="allow"' not in page.content.decode()
    assert "/health/link/" in page.content.decode()
    # Forcing "allow" anyway gives no code.
    data = consent_form(page)
    data["allow"] = "1"
    forced = signed_in.post("/oauth/authorize/", data)
    assert forced.status_code == 400
    assert not Connection.objects.filter(user=user).exists()


def test_the_app_revoking_its_own_token(app, connect, records):
    grant = connect()
    client = api(grant["access_token"])
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 200
    revoked = Client().post(
        "/oauth/revoke/", {"token": grant["access_token"], "client_id": app.client_id}
    )
    assert revoked.status_code == 200
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 401


def test_expired_token_is_401(connect, records):
    grant = connect()
    get_access_token_model().objects.update(expires=timezone.now())
    assert api(grant["access_token"]).get(f"/fhir/Patient/{records['a']}").status_code == 401


def test_narrowing_an_apps_scopes_applies_to_tokens_already_issued(app, connect, records):
    client = api(connect()["access_token"])
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 200
    SmartApp.objects.filter(application=app).update(allowed_scopes="patient/Observation.rs")
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 403
    assert client.get("/fhir/Observation").status_code == 200


def test_removing_an_app_ends_its_access(app, connect, records):
    client = api(connect()["access_token"])
    app.delete()
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 401


def test_consent_to_another_record_ends_the_old_tokens(app, connect, records, resident):
    old = api(connect()["access_token"])
    PatientLink.objects.filter(user=resident).delete()
    PatientLink.objects.create(user=resident, patient_id=records["b"])
    new = connect()
    assert new["patient"] == records["b"]
    assert old.get(f"/fhir/Patient/{records['a']}").status_code == 401
    assert api(new["access_token"]).get(f"/fhir/Patient/{records['b']}").status_code == 200


def test_a_connection_revoked_before_the_token_request_gets_no_token(app, signed_in, resident):
    response, verifier = approve(signed_in, app)
    code = code_from(response)
    services.disconnect_all(resident)
    token = exchange(app, code, verifier)
    assert token.status_code == 400
    assert not get_access_token_model().objects.exists()


def test_account_closure_disconnects_and_export_lists_apps(connect, records, resident):
    class FakeArchive:
        def __init__(self):
            self.files = {}

        def write_json(self, name, data):
            self.files[name] = data

    grant = connect()
    archive = FakeArchive()
    export_connected_apps(resident, archive)
    (entry,) = archive.files["health/connected-apps.json"]
    assert entry["app"] == "Step Counter"
    assert entry["patient"] == records["a"]
    rule = AppsOnClosure()
    assert any("Step Counter" in str(line) for line in rule.describe(resident))
    rule.apply(resident, timezone.now())
    assert api(grant["access_token"]).get(f"/fhir/Patient/{records['a']}").status_code == 401
    assert rule.describe(resident) == []


def test_district_tokens_still_work_beside_app_tokens(connect, records):
    from health.fhir.access import issue_token

    connect()
    _token, text = issue_token("lab", "user/*.rs")
    assert api(text).get(f"/fhir/Patient/{records['b']}").status_code == 200
    assert api("not-a-real-token").get("/fhir/Patient").status_code == 401
