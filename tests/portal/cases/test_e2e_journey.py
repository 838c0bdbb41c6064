"""Browser test: a resident applies for a service on a phone, by keyboard where it matters,
and sees the reference and the explained due date; an officer asks for a correction, the
resident sends it, the officer accepts, works and approves the case with a decision document,
and the resident reads the result, downloads the decision and sees the explained due date.
axe-core checks every page; every page fits 360 px."""

import pytest

from portal.cases.models import Case, CaseDocument, CaseState
from portal.workcalendar.services import seed_year
from tests.browser import AXE, Page
from tests.factories import UserFactory

from .factories import PDF, OfficeFactory, officer_of, service_with_form

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
    page.wait_for_selector(".notification-banner")
    page.check_accessibility()
    assert "Your draft is saved" in page.inner_text(".notification-banner")
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


def test_correction_then_approval_and_the_resident_sees_the_result(
    page, browser, live_server, service, tmp_path
):
    resident = UserFactory(email="wing@example.org")
    resident.profile.preferred_language = "en"
    resident.profile.display_name = "Wing"
    resident.profile.save()
    officer = officer_of(service.office)
    page.sign_in(resident)

    # The resident applies.
    page.visit(f"/services/{service.code}/apply/")
    page.fill("#id_full-name", "Wing Chan")
    page.check("text=School")
    scan = tmp_path / "lease.pdf"
    scan.write_bytes(PDF)
    page.set_input_files("#id_tenancy", str(scan))
    page.click("button[value=continue]")
    page.wait_for_url("**/check/")
    page.click("text=Send application")
    page.wait_for_url("**/sent/")
    case = Case.objects.get(applicant=resident)

    # The officer, in another browser, asks for a correction.
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-GB")
    context.add_init_script(path=str(AXE))  # as the page fixture does (the CSP refuses a tag)
    office_page = context.new_page()
    csp_refusals = []
    office_page.on(
        "console",
        lambda message: (
            csp_refusals.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    office = Page(office_page, live_server.url)
    office.set_default_timeout(15_000)
    try:
        office.sign_in(officer, totp_secret="JBSWY3DPEHPK3PXP")
        office.visit(f"/admin/cases/{case.pk}/")
        office.check_accessibility()
        office.assert_admin_fits()
        office.fill("#id_correction-message", "a signed copy of your tenancy agreement")
        office.click("form[data-step=request_correction] button")
        office.wait_for_selector("text=The resident is asked for the correction.")
        case.refresh_from_db()
        assert case.state == CaseState.CORRECTION_REQUESTED

        # The resident reads what is needed and sends the correction.
        page.visit(case.get_absolute_url())
        page.check_accessibility()
        page.assert_fits()
        assert "a signed copy of your tenancy agreement" in page.inner_text(".correction-request")
        page.click(".correction-request >> text=Send the correction")
        page.wait_for_url("**/correct/")
        page.check_accessibility()
        page.assert_fits()
        signed = tmp_path / "lease-signed.pdf"
        signed.write_bytes(PDF)
        page.set_input_files("#id_tenancy", str(signed))
        page.click("main form button[type=submit]")
        page.wait_for_selector(".notification-banner")
        assert "Your correction is sent." in page.inner_text(".notification-banner")
        case.refresh_from_db()
        assert case.state == CaseState.RESUBMITTED

        # The officer accepts, starts, attaches the decision and approves.
        office.visit(f"/admin/cases/{case.pk}/")
        for step, state in (("accept", "Accepted"), ("start", "In progress")):
            office.click(f"form[data-step={step}] button")
            office.wait_for_selector(f"text=Done: the case is now “{state}”.")
        decision = tmp_path / "decision.pdf"
        decision.write_bytes(PDF)
        office.set_input_files("#id_document-file", str(decision))
        office.check("#id_decision")
        office.click("text=Attach document")
        office.wait_for_selector("text=The document is attached.")
        office.click("form[data-step=approve] button")
        office.wait_for_selector("text=Done: the case is now “Approved”.")
        office.visit(f"/admin/cases/{case.pk}/")  # the page as it stays, after the message
        office.check_accessibility()
        office.assert_admin_fits()
        assert "Approved" in office.inner_text(".timeline")
    finally:
        context.close()
    assert csp_refusals == [], csp_refusals  # the officer's pages run as they should

    # The resident sees the result, the decision to download and the explained due date.
    page.visit(case.get_absolute_url())
    page.check_accessibility()
    page.assert_fits()
    result = page.inner_text(".case-result")
    assert "Approved" in result and "Decided on" in result
    assert "Decided on time." in result
    assert "working days from" in page.inner_text(".case-result .due-date__explanation")
    link = page.get_attribute(".case-result__download", "href")
    document = case.documents.get(kind=CaseDocument.Kind.DECISION)
    assert link.endswith(f"/documents/{document.pk}/")
    history = page.inner_text(".timeline")
    assert "Your application is approved." in history
    assert "You sent the correction." in history
    with page.expect_download() as download:
        page.click(".case-result__download")
    assert download.value.suggested_filename == "decision.pdf"
