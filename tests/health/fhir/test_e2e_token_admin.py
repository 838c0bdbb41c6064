"""Browser test on a 360 px phone: a superuser signs in with password and TOTP, issues a FHIR API
token (a wrong scope first), copies it from the page it is shown on once, and revokes it by
keyboard. axe-core checks every page; the token works until it is revoked."""

from django.test import Client

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from health.fhir.models import ApiToken
from tests.factories import StaffFactory

from .conftest import FhirClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_superuser_issues_and_revokes_a_token(page):
    admin = StaffFactory(email="admin@example.org", superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    page.sign_in(admin, totp_secret=secret)

    page.visit("/admin/fhir/tokens/")
    page.assert_admin_fits()
    assert "No tokens have been issued yet." in page.inner_text("main")
    page.click("text=Issue a token")
    page.wait_for_selector("#id_scopes")
    page.check_accessibility()
    page.assert_admin_fits()

    # A typo in a scope: the summary names it and links to the field; nothing is issued.
    page.fill("#id_name", "Hospital laboratory")
    page.fill("#id_scopes", "user/Observation.rs user/Patient.sr")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    page.assert_admin_fits()
    assert "user/Patient.sr" in page.inner_text(".error-summary")
    assert not ApiToken.objects.exists()
    page.click(".error-summary a")
    assert page.evaluate("document.activeElement.id") == "id_scopes"
    page.fill("#id_scopes", "user/Observation.rs user/Patient.rs")
    page.click("main form button[type=submit]")

    # The token is on the next page, once.
    page.wait_for_selector(".fhir-token-new code")
    page.check_accessibility()
    page.assert_admin_fits()
    text = page.inner_text(".fhir-token-new code").strip()
    api = FhirClient(Client(), token=text)
    assert api.get("/fhir/Patient").status_code == 200
    page.visit("/admin/fhir/tokens/")
    assert page.locator(".fhir-token-new").count() == 0
    assert text not in page.content()

    # Revoke, keyboard only: focus the link, Enter; on the confirmation, Enter on Revoke.
    page.focus("text=Revoke the token for Hospital laboratory")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Revoke the token for Hospital laboratory?")
    page.check_accessibility()
    page.assert_admin_fits()
    page.focus("main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=no longer works")
    assert "Revoked" in page.inner_text(".fhir-tokens")
    assert api.get("/fhir/Patient").status_code == 401
