"""Browser test: on a 360 px phone, a resident connects an app by keyboard alone, in
Chinese, then disconnects it. axe-core checks every page visited."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from health.fhir.access import system_requester
from health.fhir.models import PatientLink
from health.fhir.store import create_resource
from health.smart.models import Connection
from tests.factories import UserFactory
from tests.health.fhir.conftest import patient_body

from .conftest import authorize_params, make_app, pkce

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _tab_to(page, selector, limit=40):
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_connect_and_disconnect_an_app_by_keyboard_at_360px(page, settings):
    # The app's callback is a page of the test server itself (a 404 there), so the browser
    # lands somewhere after consent; the test reads the code from the redirect.
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    }
    callback = page.base_url + "/app-callback/"
    patient = create_resource(
        "Patient", patient_body(family="Lin"), requester=system_requester()
    ).resource
    resident = UserFactory(email="lin@example.org")
    PatientLink.objects.create(user=resident, patient_id=patient.resource_id)
    app = make_app(name="Step Counter", redirect_uris=callback)

    page.sign_in(resident, language="zh-hant")
    _verifier, challenge = pkce()
    params = authorize_params(
        app,
        "launch/patient patient/Observation.rs offline_access",
        challenge,
        redirect_uri=callback,
    )
    page.visit("/oauth/authorize/?" + urlencode(params))
    page.assert_fits()
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    assert page.locator("h1").inner_text() == "要將 Step Counter 連接到你的健康紀錄嗎？"
    _tab_to(page, ".smart-consent button[name=allow]")
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/oauth/authorize/" in r.url
    ) as answer:
        page.keyboard.press("Enter")
    page.wait_for_url(callback + "?**")
    query = parse_qs(urlsplit(answer.value.headers["location"]).query)
    assert query["state"] == ["st4te"] and query["code"]
    assert Connection.objects.filter(user=resident, application=app).exists()

    page.visit("/health/apps/")
    page.assert_fits()
    _tab_to(page, ".smart-app form button")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=已中斷與應用程式的連接")
    page.check_accessibility()
    page.assert_fits()
    assert not Connection.objects.filter(user=resident).exists()
