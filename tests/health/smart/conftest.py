"""A SMART app client for tests: registers an app, walks a resident through consent and
exchanges codes for tokens the way a real app would (PKCE S256)."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from django.test import Client

import pytest
from bs4 import BeautifulSoup

from health.fhir.access import system_requester
from health.fhir.models import PatientLink
from health.fhir.store import create_resource
from health.smart.models import SmartApp
from tests.factories import UserFactory
from tests.health.fhir.conftest import FhirClient, observation_body, patient_body

REDIRECT = "https://app.example/callback"
FULL_SCOPE = (
    "launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs"
)


def make_app(
    name="Step Counter",
    scopes="patient/*.rs openid fhirUser launch/patient offline_access",
    client_type="public",
    redirect_uris=REDIRECT,
):
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    application = Application.objects.create(
        name=name,
        client_type=client_type,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uris,
        algorithm=Application.RS256_ALGORITHM,
    )
    SmartApp.objects.create(application=application, allowed_scopes=scopes)
    return application


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_params(application, scope, challenge, redirect_uri=REDIRECT, state="st4te"):
    return {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": "http://testserver/fhir",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def consent_form(response):
    """The hidden fields of the consent page's form, as the signed_in would post them."""
    soup = BeautifulSoup(response.content, "html.parser")
    form = soup.find("form", class_="smart-consent")
    assert form is not None, response.content[:2000]
    return {
        field["name"]: field.get("value", "")
        for field in form.find_all("input")
        if field.get("name")
    }


def approve(signed_in, application, scope=FULL_SCOPE, allow=True, **kwargs):
    """Walk the resident's signed_in through consent; returns (response, verifier)."""
    verifier, challenge = pkce()
    params = authorize_params(application, scope, challenge, **kwargs)
    page = signed_in.get("/oauth/authorize/", params)
    assert page.status_code == 200, page.content[:2000]
    data = consent_form(page)
    if allow:
        data["allow"] = "1"
    return signed_in.post("/oauth/authorize/", data), verifier


def code_from(response, state="st4te"):
    assert response.status_code == 302, response.content[:2000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(application, code, verifier, redirect_uri=REDIRECT):
    return Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
    )


@pytest.fixture
def records(db):
    """Two patients' records: A (the resident's) and B (someone else's)."""
    system = system_requester()

    def make(body):
        return create_resource(body["resourceType"], body, requester=system).resource

    a = make(patient_body(family="Alpha", ident="A"))
    b = make(patient_body(family="Beta", ident="B"))
    out = {"a": a.resource_id, "b": b.resource_id}
    out["obs_a"] = make(observation_body(a.resource_id)).resource_id
    out["obs_b"] = make(observation_body(b.resource_id, value=99)).resource_id
    out["cond_a"] = make(
        {
            "resourceType": "Condition",
            "code": {"text": "Hypertension"},
            "subject": {"reference": f"Patient/{a.resource_id}"},
        }
    ).resource_id
    return out


@pytest.fixture
def resident(records):
    user = UserFactory()
    PatientLink.objects.create(user=user, patient_id=records["a"])
    return user


@pytest.fixture
def signed_in(resident):
    client = Client()
    client.force_login(resident)
    return client


@pytest.fixture
def app(db):
    return make_app()


@pytest.fixture
def connect(app, signed_in):
    """Consent and token exchange: returns the token response's JSON."""

    def run(scope=FULL_SCOPE, application=None):
        application = application or app
        response, verifier = approve(signed_in, application, scope)
        token = exchange(application, code_from(response), verifier)
        assert token.status_code == 200, token.content
        return token.json()

    return run


def api(access_token):
    return FhirClient(Client(), token=access_token)
