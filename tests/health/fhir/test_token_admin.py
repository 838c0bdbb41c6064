"""FHIR API tokens in the Wagtail admin: superusers issue them (shown once), see them and revoke
them; a revoked token stops working at once; bad input is a form error that stores nothing."""

from django.conf import settings
from django.urls import reverse

import pytest

from health.fhir.models import ApiToken
from tests.factories import StaffFactory, UserFactory

from .conftest import FhirClient, make_clinic_staff

pytestmark = pytest.mark.django_db

LIST = reverse("fhir_admin:tokens")
ISSUE = reverse("fhir_admin:token-issue")


@pytest.fixture
def admin(client):
    client.force_login(StaffFactory(superuser=True, mfa=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def issue(client, **data):
    return client.post(ISSUE, {"name": "Hospital lab", "scopes": "user/*.rs", **data})


def test_only_superusers_reach_the_token_screens(client):
    assert client.get(LIST).status_code == 302  # to the login page
    client.force_login(make_clinic_staff(clinics=[]))
    # Wagtail turns the refusal into its "no permission" message on the admin home page.
    for url in [LIST, ISSUE, reverse("fhir_admin:token-revoke", args=["abc123"])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert issue(client)["Location"] == reverse("wagtailadmin_home")
    assert not ApiToken.objects.exists()


def test_issue_shows_the_token_once_and_it_works(admin, client):
    response = issue(admin, scopes="user/Patient.rs  user/Observation.rs", expires_in_days="30")
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.scopes == "user/Patient.rs user/Observation.rs"
    assert token.expires_at is not None and token.created_by is not None

    page = response.content.decode()
    text = page.split("<code>fhir_", 1)[1].split("</code>", 1)[0]
    assert text.startswith(f"{token.key_id}_")
    assert token.secret_hash not in page
    # Kept nowhere: not in the session either (sessions are stored in the database).
    assert text not in str(dict(admin.session.items()))
    # Only once: the next visit lists the token without its text.
    again = admin.get(LIST).content.decode()
    assert f"fhir_{text}" not in again and "Hospital lab" in again

    api = FhirClient(client, token=f"fhir_{text}")
    assert api.get("/fhir/Patient").status_code == 200
    assert api.get("/fhir/Condition").status_code == 403  # outside its scopes


def test_revoke_stops_the_token_at_once(admin, client):
    page = issue(admin).content.decode()
    text = "fhir_" + page.split("<code>fhir_", 1)[1].split("</code>", 1)[0]
    token = ApiToken.objects.get()
    api = FhirClient(client, token=text)
    assert api.get("/fhir/Patient").status_code == 200

    url = reverse("fhir_admin:token-revoke", args=[token.key_id])
    assert "Revoke the token for Hospital lab?" in admin.get(url).content.decode()
    assert admin.post(url).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/fhir/Patient").status_code == 401
    assert "Revoked" in admin.get(LIST).content.decode()

    # A second revoke (double submit) says so and changes nothing.
    revoked_at = token.revoked_at
    response = admin.post(url, follow=True)
    assert "already revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"scopes": "user/*.rs admin/everything"}, "scopes", "Not a SMART scope: admin/everything"),
        ({"scopes": "user/Patient.sr"}, "scopes", "Not a SMART scope: user/Patient.sr"),
        ({"scopes": ""}, "scopes", "This field is required"),
        ({"name": "  "}, "name", "This field is required"),
        ({"name": "lab\x07"}, "name", "readable name"),
        ({"scopes": "patient/*.rs"}, "patient_id", "need the Patient"),
        ({"scopes": "patient/*.rs", "patient_id": "nobody"}, "patient_id", "no Patient"),
        ({"patient_id": "p1"}, "patient_id", "only used with patient/ scopes"),
        ({"expires_in_days": "0"}, "expires_in_days", "greater than or equal to 1"),
        ({"expires_in_days": "many"}, "expires_in_days", "whole number"),
    ],
)
def test_bad_input_is_a_form_error_and_stores_nothing(admin, data, field, message):
    response = issue(admin, **data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert 'class="error-summary"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_patient_token_for_a_stored_patient(admin, make_token_api):
    writer = make_token_api("user/Patient.cruds")
    patient = {"resourceType": "Patient", "id": "p1"}
    assert writer.put("/fhir/Patient/p1", patient).status_code == 201
    response = issue(admin, scopes="patient/*.rs", patient_id="p1")
    assert response.status_code == 200 and "fhir_" in response.content.decode()
    assert ApiToken.objects.get(name="Hospital lab").patient_id == "p1"


def test_unknown_token_is_404(admin):
    assert admin.get(reverse("fhir_admin:token-revoke", args=["nope"])).status_code == 404
    assert admin.post(reverse("fhir_admin:token-revoke", args=["nope"])).status_code == 404


def test_the_list_is_in_the_readers_language(admin):
    issue(admin)
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hant"
    page = admin.get(LIST).content.decode()
    assert "FHIR API 權杖" in page or "權杖" in page


def test_resident_never_sees_the_menu_or_screens(client):
    client.force_login(UserFactory())
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_form_sent_twice_issues_one_token(admin):
    form_id = admin.get(ISSUE).context["form_id"]
    first = issue(admin, form_id=form_id)
    assert first.status_code == 200 and "fhir_" in first.content.decode()
    # A reload (or a double click) sends the same form again.
    again = issue(admin, form_id=form_id)
    assert again.status_code == 302 and again["Location"] == LIST
    assert ApiToken.objects.count() == 1
    page = admin.get(LIST).content.decode()
    assert "already sent" in page and "fhir_" not in page.split("Hospital lab", 1)[0]
    # A new form issues a new token.
    assert issue(admin, form_id=admin.get(ISSUE).context["form_id"]).status_code == 200
    assert ApiToken.objects.count() == 2


def test_a_form_with_errors_keeps_its_one_time_value(admin):
    form_id = admin.get(ISSUE).context["form_id"]
    response = issue(admin, form_id=form_id, scopes="nonsense")
    assert response.status_code == 200 and response.context["form_id"] == form_id
    assert issue(admin, form_id=form_id).status_code == 200
    assert ApiToken.objects.count() == 1
