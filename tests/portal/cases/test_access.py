"""A resident never reaches another resident's case, document or decision, by id or URL."""

from django.core.files.base import ContentFile
from django.urls import reverse

import pytest

from portal.cases.models import CaseDocument, CaseState
from tests.factories import StaffFactory, UserFactory

from .factories import PDF, CaseFactory, OfficeFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone_elses_case():
    case = CaseFactory(applicant=UserFactory(), decision_reason="Approved for Mrs Wong")
    document = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.DECISION,
        filename="decision.pdf",
        content_type="application/pdf",
        size=len(PDF),
    )
    document.file.save("upload", ContentFile(PDF), save=False)
    document.save()
    return case, document


def test_another_residents_case_document_and_decision_are_404(resident_client, someone_elses_case):
    case, document = someone_elses_case
    urls = [
        reverse("cases:case", args=[case.pk]),
        reverse("cases:edit", args=[case.pk]),
        reverse("cases:check", args=[case.pk]),
        reverse("cases:confirmation", args=[case.pk]),
        reverse("cases:document", args=[case.pk, document.pk]),
    ]
    for url in urls:
        response = resident_client.get(url)
        assert response.status_code == 404, url
        assert b"Mrs Wong" not in response.content
    for url in (
        reverse("cases:submit", args=[case.pk]),
        reverse("cases:message", args=[case.pk]),
        reverse("cases:delete_draft", args=[case.pk]),
    ):
        assert resident_client.post(url, {"body": "hello"}).status_code == 404, url
    assert not case.messages.exists()


def test_a_document_id_under_ones_own_case_is_still_404(
    resident_client, resident, someone_elses_case
):
    _case, document = someone_elses_case
    mine = CaseFactory(applicant=resident)
    url = reverse("cases:document", args=[mine.pk, document.pk])
    assert resident_client.get(url).status_code == 404


def test_officers_of_the_owning_office_only(client, someone_elses_case):
    case, document = someone_elses_case
    url = reverse("cases:document", args=[case.pk, document.pk])
    outsider = officer_of(OfficeFactory())
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    # Listed as an officer of the office without the case officers' role: still nothing
    # (portal.scoping asks for the role's permission and the office).
    listed = StaffFactory()
    case.office.officers.add(listed)
    client.force_login(listed)
    assert client.get(url).status_code == 404
    officer = officer_of(case.office)
    client.force_login(officer)
    assert client.get(url).status_code == 200


def test_signed_out_gets_the_sign_in_page(client, someone_elses_case):
    case, document = someone_elses_case
    response = client.get(reverse("cases:document", args=[case.pk, document.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_my_cases_lists_only_mine(resident_client, resident, someone_elses_case):
    case, _document = someone_elses_case
    mine = CaseFactory(applicant=resident, state=CaseState.SUBMITTED)
    page = resident_client.get(reverse("cases:my_cases")).content.decode()
    assert mine.reference in page and case.reference not in page
