"""Browser test: a resident links their account with the clinic's activation code on a
360 px phone, reads the record and a trend chart. axe-core checks every page visited."""

import json
from datetime import date

import pytest

from health.fhir.models import Resource
from health.records import services
from tests.factories import UserFactory
from tests.health.fhir.conftest import make_clinic_staff

from .conftest import load_patient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_link_with_activation_code_and_view_chart(page):
    pid = load_patient(41, encounters=8)
    birth = date.fromisoformat(
        json.loads(Resource.objects.get(resource_type="Patient", resource_id=pid).body)["birthDate"]
    )
    _record, code = services.create_activation_code(pid, make_clinic_staff())
    resident = UserFactory(email="lin@example.org")
    page.sign_in(resident)

    page.visit("/health/")
    page.click("text=Enter an activation code")
    page.wait_for_selector("#id_code")
    page.check_accessibility()
    # A wrong date of birth is refused with a message, and nothing is linked.
    page.fill("#id_code", code)
    page.fill("#id_birth_date", "1901-01-01")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary, .field__error, [role=alert]")
    page.check_accessibility()
    page.fill("#id_code", code)
    page.fill("#id_birth_date", birth.isoformat())
    page.click("main form button[type=submit]")
    page.wait_for_url("**/health/")
    page.wait_for_selector("text=Allergy to peanuts")
    page.check_accessibility()
    page.assert_fits()

    page.visit("/health/results/")
    page.assert_fits()
    chart = page.locator("#chart-blood-pressure-title")
    assert chart.count() == 1
    assert page.locator("section.chart svg[role=img]").count() >= 4
    page.click("text=Show the readings as a table >> nth=0")
    assert page.locator("section.chart table tbody tr").first.is_visible()
    page.check_accessibility()

    page.visit("/me/")
    page.wait_for_selector("text=Allergy to peanuts")
    page.visit("/health/access/")
    page.assert_fits()
