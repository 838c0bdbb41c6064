"""The lifecycle on the pages: officers act in the admin through the steps the table allows
(buttons, a correction with a message, a rejection with a reason, the decision document);
the resident withdraws, sends a correction, and reads the result with its decision document
and the history."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import pytest

from portal.cases import services
from portal.cases.models import CaseDocument, CaseState
from portal.notifications.models import Message
from portal.workflow.models import StateChange
from tests.factories import UserFactory

from .factories import PDF, CaseFactory, FormFieldFactory, OfficeFactory, ServiceFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return OfficeFactory(code="PGS")


@pytest.fixture
def officer(office):
    return officer_of(office)


@pytest.fixture
def resident():
    return UserFactory()


@pytest.fixture
def case(office, resident):
    service = ServiceFactory(office=office)
    FormFieldFactory(service=service, key="full-name", label_en="Your full name")
    return CaseFactory(service=service, applicant=resident, answers={"full-name": "Mei Lam"})


def admin_url(case):
    return reverse("cases_admin_case", args=[case.pk])


def post_step(client, case, step, **data):
    return client.post(admin_url(case), {"action": "step", "step": step, **data}, follow=True)


def steps_on_page(response):
    import re

    return re.findall(r'data-step="([a-z_]+)"', response.content.decode())


def test_the_officer_sees_the_steps_the_table_allows_and_takes_them(client, officer, case):
    client.force_login(officer)
    page = client.get(admin_url(case))
    assert steps_on_page(page) == [
        "accept",
        "reject",
        "withdraw_for_resident",
        "request_correction",
    ]
    response = post_step(client, case, "accept", note="All papers seen.")
    assert "Done: the case is now “Accepted”." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.accepted_on is not None
    page = client.get(admin_url(case))
    assert steps_on_page(page) == [
        "start",
        "reject",
        "withdraw_for_resident",
        "request_correction",
    ]
    # The history is on the page, with the staff note.
    assert "All papers seen." in page.content.decode()
    assert "timeline__item" in page.content.decode()


def test_a_step_the_table_does_not_allow_is_refused_with_a_message(client, officer, case):
    client.force_login(officer)
    response = post_step(client, case, "approve")
    assert response.status_code == 200
    assert "cannot be moved on that way while it is “Submitted”" in response.content.decode()
    response = post_step(client, case, "no-such-step!")
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert not StateChange.objects.filter(object_id=str(case.pk)).exists()


def test_reject_needs_a_reason_and_a_correction_needs_a_message(client, officer, case):
    client.force_login(officer)
    post_step(client, case, "accept")
    response = post_step(client, case, "reject", reason="  ")
    assert "Give a reason for this change." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    response = client.post(admin_url(case), {"action": "correction", "correction-message": ""})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    client.post(
        admin_url(case), {"action": "correction", "correction-message": "a signed declaration"}
    )
    case.refresh_from_db()
    assert case.state == CaseState.CORRECTION_REQUESTED
    assert case.pauses.get().reason == "a signed declaration"
    post_step(client, case, "start")  # not from "correction requested"
    case.refresh_from_db()
    assert case.state == CaseState.CORRECTION_REQUESTED


def test_an_application_that_cannot_be_taken_on_is_rejected_straight_from_submitted(
    client, officer, resident, case
):
    """Incomplete, or the applicant is not eligible: the officer rejects it at once, with the
    reason, which the resident is sent and reads on the case page."""
    client.force_login(officer)
    response = post_step(client, case, "reject", reason="")
    assert "Give a reason for this change." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    response = post_step(client, case, "reject", reason="You must live in the district to apply.")
    assert "Done: the case is now “Rejected”." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED and case.decided_on is not None
    assert case.decision_reason == "You must live in the district to apply."
    rejected = StateChange.objects.get(object_id=str(case.pk))
    assert (rejected.step, rejected.from_state, rejected.actor) == (
        "reject",
        CaseState.SUBMITTED,
        officer,
    )
    told = Message.objects.get(user=resident, kind="cases.status_changed")
    assert "You must live in the district to apply." in told.body
    client.force_login(resident)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "You must live in the district to apply." in page
    assert "Your application was not approved." in page
    assert "Withdraw application" not in page


def test_an_officer_of_another_office_is_refused(client, case):
    stranger = officer_of(OfficeFactory(code="ZZZ"))
    client.force_login(stranger)
    assert client.get(admin_url(case)).status_code == 404
    response = client.post(admin_url(case), {"action": "step", "step": "accept"})
    assert response.status_code == 404
    response = client.post(
        admin_url(case), {"action": "correction", "correction-message": "anything"}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


def test_the_resident_withdraws_with_confirmation_only(client, resident, case):
    client.force_login(resident)
    page = client.get(case.get_absolute_url())
    assert "Withdraw application" in page.content.decode()
    url = reverse("cases:withdraw", args=[case.pk])
    response = client.post(url, {}, follow=True)
    assert "Tick the box to confirm" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    # Another resident's case: as if it did not exist.
    client.force_login(UserFactory())
    assert client.post(url, {"confirm": "on"}).status_code == 404
    client.force_login(resident)
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "Your application is withdrawn." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    assert "Withdraw application" not in response.content.decode()
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "cannot be moved on that way" in response.content.decode()


def test_the_resident_sends_a_correction(client, officer, resident, case):
    correct = reverse("cases:correct", args=[case.pk])
    client.force_login(resident)
    response = client.get(correct)
    assert response.status_code == 302  # nothing was asked for
    services.request_correction(case, "your full name as on your ID card", by=officer)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "your full name as on your ID card" in page and correct in page
    page = client.get(correct).content.decode()
    assert "your full name as on your ID card" in page and 'value="Mei Lam"' in page
    response = client.post(correct, {"full-name": ""})
    assert response.status_code == 200 and "error-summary" in response.content.decode()
    FormFieldFactory(
        service=case.service,
        key="tenancy",
        field_type="document",
        required=False,
        label_en="Tenancy agreement",
    )
    signed = SimpleUploadedFile("lease-signed.pdf", PDF, content_type="application/pdf")
    response = client.post(correct, {"full-name": "LAM Mei", "tenancy": signed}, follow=True)
    case.refresh_from_db()
    assert case.state == CaseState.RESUBMITTED
    # The corrected document is the one on file for its question.
    [sent] = case.documents.filter(kind=CaseDocument.Kind.CORRECTION)
    assert sent.filename == "lease-signed.pdf"
    assert services.documents_by_field(case)["tenancy"] == sent
    assert "Your correction is sent." in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.RESUBMITTED and case.answers["full-name"] == "LAM Mei"
    client.force_login(UserFactory())
    assert client.get(correct).status_code == 404


def test_the_resident_reads_the_result_and_downloads_the_decision(client, officer, resident, case):
    for step in ("accept", "start", "approve"):
        services.move(case, step, by=officer)
    services.store_document(
        case,
        SimpleUploadedFile("decision.pdf", PDF, content_type="application/pdf"),
        kind=CaseDocument.Kind.DECISION,
        by=officer,
    )
    services.move(case, "result_ready", by=officer, reason="We posted the letter to you.")
    client.force_login(resident)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "Decided on" in page and "We posted the letter to you." in page
    assert "Download the decision: decision.pdf" in page
    assert "Your application is approved." in page  # the history, in the resident's words
    assert "Withdraw application" not in page
    document = case.documents.get(kind=CaseDocument.Kind.DECISION)
    download = client.get(reverse("cases:document", args=[case.pk, document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_every_officer_url_keeps_another_offices_case_out(client, officer):
    """A walk over every admin URL of cases (from the URL resolver) as an officer of office A
    against office B's case: pages with an id are 404 (GET and POST); lists, the dashboard,
    the window, the hotline never show B's reference; and nothing of B's case changed."""
    from django.urls import get_resolver

    theirs = CaseFactory(service=ServiceFactory(office=OfficeFactory(code="WLK")))
    theirs.reference = "WLK-2026-SECRET"
    theirs.save()
    document = CaseDocument(
        case=theirs, kind=CaseDocument.Kind.DECISION, filename="x.pdf", content_type="a", size=1
    )
    document.file.save("upload", SimpleUploadedFile("x.pdf", PDF), save=False)
    document.save()
    before = type(theirs).objects.filter(pk=theirs.pk).values().get()
    client.force_login(officer)
    names = sorted(name for name in get_resolver().reverse_dict if isinstance(name, str))
    walked = []
    for name in [n for n in names if n.startswith("cases_admin_")]:
        if name == "cases_admin_case":
            url = reverse(name, args=[theirs.pk])
        elif name == "cases_admin_window_file":
            url = reverse(name, args=[theirs.service_id])
        else:
            url = reverse(name)
            response = client.get(url, {"office": theirs.office_id, "status": ""})
            assert response.status_code in {200, 302, 404}, name
            assert "WLK-2026-SECRET" not in response.content.decode(), name
            walked.append(name)
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"action": "step", "step": "accept"})
            assert response.status_code == 404, (name, method, response.status_code)
        walked.append(name)
    assert set(walked) == {
        "cases_admin_case",
        "cases_admin_dashboard",
        "cases_admin_hotline",
        "cases_admin_identity",
        "cases_admin_queue",
        "cases_admin_window",
        "cases_admin_window_file",
    }
    download = client.get(reverse("cases:document", args=[theirs.pk, document.pk]))
    assert download.status_code == 404
    assert type(theirs).objects.filter(pk=theirs.pk).values().get() == before
