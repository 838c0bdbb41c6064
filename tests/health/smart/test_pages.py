"""The pages around connected apps: registering an app in the admin, the consent screen in
the resident's language, My page and the connected-apps page."""

import base64

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

import pytest
from bs4 import BeautifulSoup
from oauth2_provider.models import get_application_model

from health.smart.models import Connection, SmartApp
from portal.mypage.panels import changed
from tests.factories import StaffFactory, UserFactory

from .conftest import REDIRECT, api, approve, authorize_params, code_from, exchange, pkce

pytestmark = pytest.mark.django_db

LIST = reverse("smart_admin:apps")
REGISTER = reverse("smart_admin:app-register")


@pytest.fixture
def admin(client):
    client.force_login(StaffFactory(superuser=True, mfa=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def register(client, **data):
    return client.post(
        REGISTER,
        {
            "name": "Blood Pressure Diary",
            "description": "Keeps your blood pressure readings.",
            "client_type": "public",
            "redirect_uris": REDIRECT,
            "allowed_scopes": "patient/Observation.rs launch/patient",
            **data,
        },
    )


def test_only_superusers_register_apps(client):
    client.force_login(StaffFactory(clinic_staff=True, mfa=True))
    for url in (LIST, REGISTER):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert register(client)["Location"] == reverse("wagtailadmin_home")
    assert not SmartApp.objects.exists()


def test_register_a_public_app_and_it_can_be_connected(admin, signed_in, resident, records):
    response = register(admin)
    assert response.status_code == 302
    smart = SmartApp.objects.select_related("application").get()
    application = smart.application
    assert application.client_type == "public"
    assert application.redirect_uris == REDIRECT
    assert smart.allowed_scopes == "patient/Observation.rs launch/patient"
    listing = admin.get(LIST).content.decode()
    assert "Blood Pressure Diary" in listing and application.client_id in listing

    consent, verifier = approve(signed_in, application, "launch/patient patient/Observation.rs")
    grant = exchange(application, code_from(consent), verifier).json()
    assert api(grant["access_token"]).get("/fhir/Observation").status_code == 200


def test_confidential_app_gets_a_secret_shown_once(admin, signed_in, records):
    response = register(admin, client_type="confidential")
    assert response.status_code == 200
    page = BeautifulSoup(response.content, "html.parser")
    codes = [code.get_text() for code in page.select(".fhir-token-new code")]
    client_id, secret = codes
    application = get_application_model().objects.get(client_id=client_id)
    assert application.client_secret != secret  # only a hash is kept
    assert secret not in admin.get(LIST).content.decode()

    consent, verifier = approve(signed_in, application, "patient/Observation.rs")
    code = code_from(consent)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    assert Client().post("/oauth/token/", {**body, "client_id": client_id}).status_code == 401
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = Client().post("/oauth/token/", body, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert token.status_code == 200, token.content


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("allowed_scopes", "user/*.rs", "Not a scope a resident"),
        ("allowed_scopes", "patient/*.cruds", "Not a scope a resident"),
        ("allowed_scopes", "openid fhirUser", "Allow at least one patient/ scope"),
        ("redirect_uris", "ftp://app.example/cb", "cannot be used"),
        ("redirect_uris", "", "required"),
        ("name", "   ", "required"),
    ],
)
def test_bad_registrations_are_form_errors(admin, field, value, message):
    response = register(admin, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SmartApp.objects.exists()
    assert not get_application_model().objects.exists()


def test_change_and_remove_an_app(admin, app, connect, records):
    grant = connect()
    smart = app.smart
    edit = reverse("smart_admin:app-edit", args=[smart.pk])
    response = admin.post(
        edit,
        {
            "name": "Step Counter Pro",
            "description": "",
            "redirect_uris": f"{REDIRECT}\nhttps://app.example/other",
            "allowed_scopes": "patient/Observation.rs",
        },
    )
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.name == "Step Counter Pro"
    assert app.redirect_uris.split() == [REDIRECT, "https://app.example/other"]
    client = api(grant["access_token"])
    assert client.get(f"/fhir/Patient/{records['a']}").status_code == 403
    remove = admin.post(reverse("smart_admin:app-delete", args=[smart.pk]))
    assert remove.status_code == 302
    assert client.get("/fhir/Observation").status_code == 401
    assert not Connection.objects.exists()


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_consent_screen_in_the_residents_language(app, signed_in, language):
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    _verifier, challenge = pkce()
    scope = "launch/patient patient/Observation.rs patient/Condition.rs offline_access"
    page = signed_in.get("/oauth/authorize/", authorize_params(app, scope, challenge))
    assert page.status_code == 200
    soup = BeautifulSoup(page.content, "html.parser")
    assert soup.html["lang"] == language
    items = [li.get_text(strip=True) for li in soup.select(".smart-consent ul li")]
    with translation.override(language):
        expected = [
            translation.gettext("Observations"),
            translation.gettext("Conditions"),
            translation.gettext("Which health record is yours"),
            translation.gettext("Access while you are not using the app, until you disconnect it"),
        ]
        assert translation.gettext("Allow") in page.content.decode()
    assert items == expected
    if language != "en":
        # Translated, not English, on every line and the buttons.
        assert not any(item.isascii() for item in items), items
        assert all(not b.get_text(strip=True).isascii() for b in soup.select("button"))
    # Two plain buttons, the first the approval: reachable and usable by keyboard alone.
    buttons = soup.select(".smart-consent button[type=submit]")
    assert [b.get("name") for b in buttons] == ["allow", None]


def test_everything_is_said_as_such(app, signed_in):
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _verifier, challenge = pkce()
    page = signed_in.get(
        "/oauth/authorize/", authorize_params(app, "patient/*.rs openid fhirUser", challenge)
    )
    items = [
        li.get_text(strip=True)
        for li in BeautifulSoup(page.content, "html.parser").select(".smart-consent ul li")
    ]
    assert items == [
        "Everything in your health record",
        "Who you are: which health record is yours",
    ]


def test_my_page_and_the_apps_page_list_connected_apps(connect, signed_in, records):
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    mypage = signed_in.get(reverse("mypage:index")).content.decode()
    assert "No apps are connected to your health record." in mypage
    grant = connect("launch/patient patient/Observation.rs")
    mypage = signed_in.get(reverse("mypage:index")).content.decode()
    assert "Step Counter" in mypage and "not used yet" not in mypage  # the token was issued
    api(grant["access_token"]).get("/fhir/Observation")
    apps = BeautifulSoup(signed_in.get(reverse("smart:apps")).content, "html.parser")
    section = apps.select_one(".smart-app")
    assert section.h2.get_text() == "Step Counter"
    assert "Observations" in section.get_text()
    assert section.find("time") is not None  # last used
    assert section.form.button.get_text(strip=True) == "Disconnect Step Counter"


def test_disconnect_is_post_only_and_own_connections_only(connect, signed_in, records):
    connect()
    connection = Connection.objects.get()
    url = reverse("smart:disconnect", args=[connection.pk])
    assert signed_in.get(url).status_code == 405
    other = Client()
    other.force_login(UserFactory())
    assert other.post(url).status_code == 302
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert Client().post(url).status_code == 302  # to sign in
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_no_panel_for_accounts_without_a_record_or_apps(client):
    client.force_login(UserFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("mypage:index")).content.decode()
    assert "Connected health apps" not in page


def test_admin_huge_ids_are_not_found(admin):
    for name in ("smart_admin:app-edit", "smart_admin:app-delete"):
        assert admin.get(reverse(name, args=[2**70])).status_code == 404


def test_the_consent_page_lets_the_browser_go_back_to_the_app(app, signed_in):
    """The site's policy allows forms to post only to itself; the consent form's answer is a
    redirect to the app, which the policy of this one page must allow (and nothing else)."""
    _verifier, challenge = pkce()
    page = signed_in.get("/oauth/authorize/", authorize_params(app, "patient/*.rs", challenge))
    policy = page["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", "https://app.example"]
    assert "app.example" not in signed_in.get(reverse("smart:apps"))["Content-Security-Policy"]


def test_my_page_follows_connections_and_their_last_use(app, signed_in, records):
    """The panel and whether it is shown are cached per resident: a connection made, used or
    removed shows on the next visit (the last use is an UPDATE without a save signal)."""
    signed_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    mypage = reverse("mypage:index")

    def apps_panel():
        html = BeautifulSoup(signed_in.get(mypage).content, "html.parser")
        section = html.select_one("#panel-health-apps")
        return section.get_text(" ", strip=True) if section else None

    assert "No apps are connected" in apps_panel()
    apps_panel()  # from the cache
    response, verifier = approve(signed_in, app, "launch/patient patient/Observation.rs")
    assert "Step Counter – not used yet" in apps_panel()  # consent made the connection
    token = exchange(app, code_from(response), verifier)  # the token issued: its first use
    assert "not used yet" not in apps_panel()
    connection = Connection.objects.get()
    Connection.objects.filter(pk=connection.pk).update(last_used_at=None)
    changed(connection.user_id)
    assert "not used yet" in apps_panel()
    api(token.json()["access_token"]).get("/fhir/Observation")  # a use through the API
    assert "not used yet" not in apps_panel()
    signed_in.post(reverse("smart:disconnect", args=[connection.pk]))
    assert "Step Counter" not in apps_panel()
