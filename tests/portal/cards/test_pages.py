"""The resident's card pages: apply (prefilled from the profile), check the answers, send,
follow the status with its history, correct, withdraw, report a lost card; another
resident's application, photo or card by id is a 404."""

from django.urls import reverse

import pytest

from portal.cards.models import ApplicationState, CardApplication, CardState
from portal.cases.models import ResidentIdentity
from tests.factories import StreetFactory

from .factories import (
    OfficeFactory,
    UserFactory,
    collected,
    draft,
    image_bytes,
    officer_of,
    photo_upload,
    submitted,
)

pytestmark = pytest.mark.django_db
S = ApplicationState


def form_data(office, **overrides):
    return {
        "full_name": "Chan Tai Man",
        "date_of_birth": "1985-03-14",
        "id_number": "A123456(3)",
        "phone": "",
        "address": "Flat 3",
        "collection_point": str(office.pk),
        **overrides,
    }


def test_the_form_is_prefilled_from_the_profile_and_verified_identity(resident_client, resident):
    street = StreetFactory()
    office = OfficeFactory(community=street.community, name_en="Local Street Office")
    OfficeFactory(name_en="Elsewhere")
    resident.profile.display_name = "Chan Tai Man"
    resident.profile.phone = "91234567"
    resident.profile.street = street
    resident.profile.save()
    ResidentIdentity.objects.create(user=resident, id_number="A1234563")
    response = resident_client.get(reverse("cards:apply"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["full_name"] == "Chan Tai Man"
    assert form.initial["phone"] == "91234567"
    assert form.initial["id_number"] == "A1234563"
    assert form.initial["street"] == street
    assert form.initial["collection_point"] == office
    page = response.content.decode()
    assert 'value="Chan Tai Man"' in page and "Local Street Office" in page


def test_apply_check_send_and_follow(resident_client, resident):
    office = OfficeFactory(name_en="District Service Centre")
    response = resident_client.post(
        reverse("cards:apply"), {**form_data(office), "photo": photo_upload()}
    )
    application = CardApplication.objects.get(applicant=resident)
    assert response.status_code == 302
    assert response["Location"] == reverse("cards:check", args=[application.pk])
    page = resident_client.get(response["Location"]).content.decode()
    assert "Check your answers" in page and "A1234563" in page and "District Service Centre" in page
    response = resident_client.post(reverse("cards:submit", args=[application.pk]))
    assert response["Location"] == reverse("cards:confirmation", args=[application.pk])
    page = resident_client.get(response["Location"]).content.decode()
    assert application.reference in page
    page = resident_client.get(application.get_absolute_url()).content.decode()
    assert "Submitted" in page and "You sent the application." in page  # status and timeline
    assert "The office checks your photo and details." in page  # next step
    photo = resident_client.get(reverse("cards:photo", args=[application.pk]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert photo["Cache-Control"] == "private, no-store"


def test_bad_input_shows_errors_and_creates_nothing(resident_client, resident):
    office = OfficeFactory()
    bad_photo = {"photo": photo_upload(width=100, height=100)}
    response = resident_client.post(
        reverse("cards:apply"), {**form_data(office, id_number="A1234567"), **bad_photo}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "not a valid identity card number" in page
    assert "at least 400 × 500 pixels" in page
    assert 'class="error-summary' in page
    assert not CardApplication.objects.filter(applicant=resident).exists()


def test_a_wrongly_typed_upload_is_refused_on_the_page(resident_client, resident):
    from django.core.files.uploadedfile import SimpleUploadedFile

    office = OfficeFactory()
    fake = SimpleUploadedFile("me.jpg", b"%PDF-1.4 not a photo", "image/jpeg")
    response = resident_client.post(reverse("cards:apply"), {**form_data(office), "photo": fake})
    assert response.status_code == 200
    assert "not a JPEG or PNG photo" in response.content.decode()
    assert not CardApplication.objects.filter(applicant=resident).exists()


def test_an_oversize_upload_is_refused_on_the_page(resident_client, resident, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CARDS_PHOTO_MAX_BYTES = 50_000
    office = OfficeFactory()
    big = SimpleUploadedFile("me.png", image_bytes(480, 600, "PNG") + b"\0" * 60_000, "image/png")
    response = resident_client.post(reverse("cards:apply"), {**form_data(office), "photo": big})
    assert response.status_code == 200
    assert "a photo can be at most" in response.content.decode()
    assert not CardApplication.objects.filter(applicant=resident).exists()


def test_a_second_application_while_one_is_open_goes_to_the_open_one(resident_client, resident):
    application = submitted(resident)
    response = resident_client.get(reverse("cards:apply"))
    assert response["Location"] == application.get_absolute_url()
    response = resident_client.post(
        reverse("cards:apply"), {**form_data(application.collection_point), "photo": photo_upload()}
    )
    assert response["Location"] == application.get_absolute_url()
    assert CardApplication.objects.filter(applicant=resident).count() == 1


def test_another_residents_application_photo_and_card_are_not_found(resident_client):
    office = OfficeFactory()
    theirs = draft(office=office)
    sent = submitted(office=office)
    card = collected(officer_of(office), office=office).card
    urls = [
        reverse(name, args=[application.pk])
        for application in (theirs, sent)
        for name in ("cards:application", "cards:edit", "cards:check", "cards:confirmation")
    ]
    urls += [
        reverse("cards:photo", args=[sent.pk]),
        reverse("cards:correct", args=[sent.pk]),
        reverse("cards:report_lost", args=[card.pk]),
    ]
    for url in urls:
        assert resident_client.get(url).status_code == 404, url
    for name in ("cards:submit", "cards:withdraw"):
        assert resident_client.post(reverse(name, args=[theirs.pk])).status_code == 404
    assert resident_client.post(reverse("cards:report_lost", args=[card.pk])).status_code == 404
    theirs.refresh_from_db()
    card.refresh_from_db()
    assert theirs.state == S.DRAFT and card.state == CardState.ACTIVE


def test_correcting_an_application_on_its_page(resident_client, resident):
    from portal.cards import services

    office = OfficeFactory()
    officer = officer_of(office)
    application = submitted(resident, office)
    services.request_correction(application, "Your photo is too dark.", by=officer)
    page = resident_client.get(application.get_absolute_url()).content.decode()
    assert "Correction requested" in page and "Your photo is too dark." in page
    correct = reverse("cards:correct", args=[application.pk])
    response = resident_client.get(correct)
    assert "Your photo is too dark." in response.content.decode()
    # The photo on file is kept when no new one is chosen.
    response = resident_client.post(correct, form_data(office, full_name="Chan Tai-man"))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.RESUBMITTED and application.full_name == "Chan Tai-man"


def test_reporting_a_lost_card_on_the_page(resident_client, resident):
    office = OfficeFactory()
    application = collected(officer_of(office), resident, office)
    card = application.card
    url = reverse("cards:report_lost", args=[card.pk])
    assert "Block the card" in resident_client.get(url).content.decode()
    response = resident_client.post(url)
    card.refresh_from_db()
    assert card.state == CardState.BLOCKED
    replacement = CardApplication.objects.get(applicant=resident, state=S.DRAFT)
    assert response["Location"] == reverse("cards:check", args=[replacement.pk])
    page = resident_client.get(response["Location"]).content.decode()
    assert "Replacement for a lost card" in page and application.full_name in page


def test_withdrawing_frees_the_way_for_a_new_application(resident_client, resident):
    application = submitted(resident)
    resident_client.post(reverse("cards:withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert application.state == S.WITHDRAWN
    assert resident_client.get(reverse("cards:apply")).status_code == 200


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_pages_are_in_chinese_of_one_script(client, language):
    from tests.test_script_consistency import check

    office = OfficeFactory()
    officer = officer_of(office)
    resident = UserFactory()
    client.force_login(resident)
    client.cookies["portal_language"] = language
    application = submitted(resident, office)
    from portal.cards import services

    services.request_correction(application, "Photo", by=officer)
    names = ("Chan Tai Man", office.name_zh_hant, office.name_zh_hans, "Photo")
    problems = {}
    for url in (
        reverse("cards:index"),
        application.get_absolute_url(),
        reverse("cards:correct", args=[application.pk]),
        reverse("mypage:index"),
    ):
        problems[url] = check(client.get(url), language, names)
    response = client.post(
        reverse("cards:correct", args=[application.pk]),
        {**form_data(office, id_number="A1234567"), "photo": photo_upload(width=10, height=10)},
    )
    page = response.content.decode()
    assert "A1234567" in page
    problems["errors"] = check(response, language, (*names, "A1234567"))
    assert {url: found for url, found in problems.items() if found} == {}


def test_pages_need_sign_in(client):
    response = client.get(reverse("cards:apply"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_non_numeric_or_huge_id_is_a_404_not_an_error(resident_client):
    assert resident_client.get("/card/applications/99999999999999999999/").status_code == 404
