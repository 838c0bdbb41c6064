"""Browser test: a resident applies for a service on a phone, by keyboard where it matters,
and sees the reference and the explained due date; axe-core checks every page."""

import pytest

from portal.cases.models import Case, CaseState
from portal.workcalendar.services import seed_year
from tests.factories import UserFactory

from .factories import PDF, OfficeFactory, service_with_form

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def service(settings, case_files):
    from django.utils import timezone

    settings.WORKCALENDAR_REGION = "HK"
    year = timezone.localdate().year
    seed_year(year, confirm=True)
    seed_year(year + 1, confirm=True)
    return service_with_form(office=OfficeFactory(code="HBS"), code="proof-of-residence")


def test_a_resident_applies_and_sees_the_explained_due_date(page, service, tmp_path):
    resident = UserFactory(email="mei@example.org")
    resident.profile.preferred_language = "en"
    resident.profile.display_name = "Mei"
    resident.profile.save()
    page.sign_in(resident)

    page.visit("/services/")
    page.assert_fits()
    page.click(f"text={service.name_en}")
    page.check_accessibility()
    page.click("text=Apply online")
    page.wait_for_selector("h1")
    page.check_accessibility()
    page.assert_fits()

    # Continue with nothing filled in: the error summary links to the fields.
    page.click("button[value=continue]")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    page.fill("#id_full-name", "Mei Lam")
    page.check("text=Bank")
    scan = tmp_path / "lease.pdf"
    scan.write_bytes(PDF)
    page.set_input_files("#id_tenancy", str(scan))
    # Save a draft and come back to it.
    page.click("button[value=save]")
    page.wait_for_selector(".messages")
    page.check_accessibility()
    assert "Your draft is saved" in page.inner_text(".messages")
    case = Case.objects.get(applicant=resident)
    assert case.state == CaseState.DRAFT

    page.click("button[value=continue]")
    page.wait_for_url("**/check/")
    page.check_accessibility()
    page.assert_fits()
    summary = page.inner_text(".summary-list")
    assert "Mei Lam" in summary and "Bank" in summary and "lease.pdf" in summary
    page.focus("text=Send application")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sent/")
    page.check_accessibility()
    page.assert_fits()
    case.refresh_from_db()
    assert case.reference in page.inner_text(".reference")
    explanation = page.inner_text(".due-date__explanation")
    assert "working days from" in explanation

    page.click("text=Open your case")
    page.check_accessibility()
    page.assert_fits()
    assert "Received" in page.inner_text("main")
    page.visit("/me/")
    assert case.reference in page.inner_text("#panel-cases")
