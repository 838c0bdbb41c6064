"""Browser test: a resident applies for a social security card on a 360 px phone, sends it by
keyboard, and follows its status on the status page and on My page; axe-core checks every
page."""

import pytest

from portal.cards import services
from portal.cards.models import ApplicationState, CardApplication

from .factories import OfficeFactory, UserFactory, image_bytes, officer_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_resident_applies_for_a_card_and_sees_its_status_on_my_page(page, tmp_path):
    office = OfficeFactory(code="DSC", name_en="District Service Centre")
    resident = UserFactory(email="mei@example.org")
    resident.profile.preferred_language = "en"
    resident.profile.display_name = "Lam Mei"
    resident.profile.save()
    page.sign_in(resident)

    page.visit("/me/")
    page.click("#panel-card >> text=Apply for a card")
    page.wait_for_selector("h1")
    page.check_accessibility()
    page.assert_fits()
    assert page.input_value("#id_full_name") == "Lam Mei"  # from the profile

    # A bad ID number and a photo that is too small: the error summary says what is wrong.
    small = tmp_path / "small.png"
    small.write_bytes(image_bytes(100, 100, "PNG"))
    page.fill("#id_date_of_birth", "1990-05-01")
    page.fill("#id_id_number", "A123456(7)")
    page.check("#id_collection_point_0")
    page.set_input_files("#id_photo", str(small))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".error-summary")
    page.check_accessibility()
    summary = page.inner_text(".error-summary")
    assert "not a valid identity card number" in summary
    assert "at least 400 × 500 pixels" in summary

    photo = tmp_path / "me.jpg"
    photo.write_bytes(image_bytes(480, 600, "JPEG"))
    page.fill("#id_id_number", "A123456(3)")
    page.set_input_files("#id_photo", str(photo))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/check/")
    page.check_accessibility()
    page.assert_fits()
    answers = page.inner_text(".summary-list")
    assert "A1234563" in answers and "District Service Centre" in answers
    page.focus("text=Send application")
    page.keyboard.press("Enter")
    page.wait_for_url("**/sent/")
    page.check_accessibility()
    page.assert_fits()
    application = CardApplication.objects.get(applicant=resident)
    assert application.reference in page.inner_text(".reference")

    page.click("text=Follow your application")
    page.wait_for_selector(".timeline")
    page.check_accessibility()
    page.assert_fits()
    assert "You sent the application." in page.inner_text(".timeline")

    page.visit("/me/")
    panel = page.inner_text("#panel-card")
    assert application.reference in panel and "Submitted" in panel
    assert "The office checks your photo and details." in panel

    # The officer approves; My page says so, with the next step.
    services.approve(application, by=officer_of(office))
    page.visit("/me/")
    page.check_accessibility()
    page.assert_fits()
    panel = page.inner_text("#panel-card")
    assert "Photo and data approved" in panel
    assert "next production batch" in panel
    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED


def test_an_officer_checks_batches_and_hands_out_cards_in_the_admin(page):
    from django.urls import reverse

    from .factories import submitted

    office = OfficeFactory(code="DSC", name_en="District Service Centre")
    other = OfficeFactory(code="HBS", name_en="Harbour Street Office")
    officer = officer_of(office)
    first = submitted(office=office, full_name="Chan Tai Man")
    second = submitted(office=office, full_name="Lee Siu Mei")
    foreign = submitted(office=other, full_name="Foreign Applicant")
    page.sign_in(officer, totp_secret="JBSWY3DPEHPK3PXP")

    page.visit(reverse("cards_admin_list"))
    page.check_accessibility()
    page.assert_admin_fits()
    listing = page.inner_text("main")
    assert "Chan Tai Man" in listing and "Lee Siu Mei" in listing
    assert "Foreign Applicant" not in listing

    page.click(f"text={first.reference}")
    page.wait_for_selector(".timeline")
    page.check_accessibility()
    page.assert_admin_fits()
    page.focus("button[value=approve]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=The photo and data are approved.")
    page.visit(reverse("cards_admin_application", args=[second.pk]))
    page.fill("#id_reason", "Please send a photo without glasses.")
    page.click("text=Ask for a correction")
    page.wait_for_selector("text=The resident is asked to correct it.")
    assert "Please send a photo without glasses." in page.inner_text(".timeline")

    page.visit(reverse("cards_admin_list") + "?status=approved")
    page.check_accessibility()
    page.assert_admin_fits()
    page.click("text=Create a production batch")
    page.wait_for_selector("text=Mark the batch ready for collection")
    page.admin_message_shown()
    page.check_accessibility()
    page.assert_admin_fits()
    page.click("text=Mark the batch ready for collection")
    page.wait_for_selector("text=Record collection of the chosen cards")
    page.check(f"#collect-{first.pk}")
    page.click("text=Record collection of the chosen cards")
    page.wait_for_selector("text=1 collection recorded.")
    first.refresh_from_db()
    second.refresh_from_db()
    foreign.refresh_from_db()
    assert first.state == ApplicationState.COLLECTED and first.card.state == "active"
    assert second.state == ApplicationState.CORRECTION
    assert foreign.state == ApplicationState.SUBMITTED
