"""A resident applies online: the form, uploads, a saved draft, "check your answers", sending,
the confirmation with reference and due date, and the message in the inbox."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.cases.models import Case, CaseDocument, CaseState
from portal.notifications.models import Message

from .factories import PDF, PNG, OfficeFactory, service_with_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return service_with_form(office=OfficeFactory(code="HKS"), code="proof-of-address")


def upload(name="tenancy.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_the_catalogue_lists_services_and_their_promise(client, service):
    page = client.get(reverse("cases:catalogue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert service.name_en in page and "Decision within 10 working days" in page
    detail = client.get(service.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tenancy agreement" in detail  # the documents you need
    assert reverse("cases:apply", args=[service.code]) in detail


def test_an_inactive_or_unknown_service_is_a_404(client, service):
    service.is_active = False
    service.save()
    assert client.get(service.get_absolute_url()).status_code == 404
    assert client.get("/services/no-such-thing/").status_code == 404


def test_apply_check_and_send(resident_client, resident, service):
    resident.profile.preferred_language = "en"
    resident.profile.save()
    url = reverse("cases:apply", args=[service.code])
    form = resident_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200 and "Your full name" in form.content.decode()

    response = resident_client.post(
        url,
        {"full-name": "Chan Tai Man", "purpose": "2", "tenancy": upload(), "action": "continue"},
    )
    case = Case.objects.get(applicant=resident)
    assert response.status_code == 302 and response.url == reverse("cases:check", args=[case.pk])
    assert case.state == CaseState.DRAFT and case.reference is None
    assert case.answers == {"full-name": "Chan Tai Man", "purpose": "2"}

    check = resident_client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Check your answers" in check and "Bank" in check and "tenancy.pdf" in check

    sent = resident_client.post(reverse("cases:submit", args=[case.pk]))
    assert sent.url == reverse("cases:confirmation", args=[case.pk])
    case.refresh_from_db()
    year = timezone.localdate().year
    assert case.state == CaseState.SUBMITTED
    assert case.reference == f"HKS-{year}-000001"
    assert case.received_on == timezone.localdate() and case.due_date is not None

    page = resident_client.get(sent.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in page and "working days from" in page
    message = Message.objects.get(user=resident, kind="cases.submitted")
    assert case.reference in message.subject and "working days from" in message.body
    # Sending twice changes nothing.
    again = resident_client.post(reverse("cases:submit", args=[case.pk]))
    assert again.status_code == 302
    assert Case.objects.get(pk=case.pk).reference == case.reference


def test_a_draft_is_saved_and_resumed(resident_client, resident, service):
    url = reverse("cases:apply", args=[service.code])
    resident_client.post(url, {"full-name": "Chan Tai Man", "action": "save"})
    case = Case.objects.get(applicant=resident)
    assert case.state == CaseState.DRAFT and case.answers == {"full-name": "Chan Tai Man"}
    # Coming back to the service opens the same draft, with the answer kept.
    resumed = resident_client.get(url)
    assert resumed.url == reverse("cases:edit", args=[case.pk])
    page = resident_client.get(resumed.url).content.decode()
    assert 'value="Chan Tai Man"' in page
    # Sending the incomplete draft is refused with what is missing.
    refused = resident_client.post(reverse("cases:submit", args=[case.pk]), follow=True)
    assert "What is it for?" in refused.content.decode()
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT
    # The document uploaded once is not asked for again.
    resident_client.post(
        reverse("cases:edit", args=[case.pk]),
        {"full-name": "Chan Tai Man", "purpose": "1", "tenancy": upload(), "action": "save"},
    )
    response = resident_client.post(
        reverse("cases:edit", args=[case.pk]),
        {"full-name": "Chan Tai Man", "purpose": "1", "action": "continue"},
    )
    assert response.url == reverse("cases:check", args=[case.pk])
    assert CaseDocument.objects.filter(case=case).count() == 1


@pytest.mark.parametrize(
    "file, message",
    [
        (upload("big.pdf", PDF + b"0" * 2048), "at most"),
        (upload("virus.pdf", b"MZ\x90\x00 this is an executable"), "not a PDF, JPEG or PNG"),
        (upload("photo.png", b"GIF89a\x01\x00\x01\x00", "image/png"), "not a PDF, JPEG or PNG"),
        (upload("empty.pdf", b""), "empty"),
    ],
)
def test_oversize_and_wrongly_typed_uploads_are_refused(
    resident_client, resident, service, settings, file, message
):
    settings.CASES_UPLOAD_MAX_BYTES = 1024
    response = resident_client.post(
        reverse("cases:apply", args=[service.code]),
        {"full-name": "Chan", "purpose": "1", "tenancy": file, "action": "continue"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CaseDocument.objects.exists()
    assert not Case.objects.filter(applicant=resident).exists()


def test_a_png_is_accepted_and_stored_outside_the_web_root(
    resident_client, resident, service, settings, case_files
):
    resident_client.post(
        reverse("cases:apply", args=[service.code]),
        {
            "full-name": "Chan",
            "purpose": "1",
            "tenancy": upload("scan.png", PNG, "image/png"),
            "action": "continue",
        },
    )
    document = CaseDocument.objects.get()
    assert document.content_type == "image/png" and document.filename == "scan.png"
    path = document.file.path
    assert path.startswith(str(case_files)) and not path.startswith(str(settings.MEDIA_ROOT))
    url = reverse("cases:document", args=[document.case_id, document.pk])
    response = resident_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == PNG


def test_a_service_that_is_not_online_cannot_be_applied_for(resident_client, service):
    service.online = False
    service.save()
    response = resident_client.get(reverse("cases:apply", args=[service.code]))
    assert response.status_code == 302 and response.url == service.get_absolute_url()
    assert not Case.objects.exists()


def test_signed_out_visitors_are_asked_to_sign_in(client, service):
    response = client.get(reverse("cases:apply", args=[service.code]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
