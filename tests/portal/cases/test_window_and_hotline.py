"""Filed at the window (for an account found by ID number or phone, or for an applicant without
one, linked once an account with that verified ID number appears) and the district hotline."""

from django.urls import reverse
from django.utils import timezone

import pytest

from portal.cases import services
from portal.cases.identity import is_valid
from portal.cases.models import Case, CaseState, ResidentIdentity, Service
from portal.notifications import sms
from portal.notifications.models import Message
from portal.workflow.models import StateChange
from tests.factories import StreetFactory, UserFactory

from .factories import OfficeFactory, ServiceFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return OfficeFactory(code="WIN")


@pytest.fixture
def officer(office):
    return officer_of(office)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


@pytest.fixture
def service(office):
    return ServiceFactory(office=office, online=False, name_en="Elderly allowance")


@pytest.mark.parametrize(
    "number, valid",
    [
        ("A123456(3)", True),
        ("a123456 (3)", True),
        ("A123456(4)", False),
        ("AB987654(3)", True),
        ("11010519491231002X", True),
        ("110105194912310021", False),
        ("", False),
        ("not a number", False),
    ],
)
def test_id_number_checksums(number, valid):
    assert is_valid(number) == valid


def test_filed_for_a_resident_found_by_phone_shows_on_their_my_page(
    officer_client, officer, service, client
):
    resident = UserFactory()
    resident.profile.phone = "91234567"
    resident.profile.save()
    found = officer_client.get(
        reverse("cases_admin_window"), {"service": service.pk, "query": "9123 4567"}
    ).content.decode()
    file_url = reverse("cases_admin_window_file", args=[service.pk])
    assert f"{file_url}?resident={resident.pk}" in found
    response = officer_client.post(file_url, {"resident": resident.pk})
    case = Case.objects.get(applicant=resident)
    assert response.url == reverse("cases_admin_case", args=[case.pk])
    # Received and accepted at once, by the officer at the window: no "submitted" step left.
    assert case.channel == Case.Channel.WINDOW and case.state == CaseState.ACCEPTED
    assert case.accepted_on == case.received_on == timezone.localdate()
    assert case.reference.startswith("WIN-") and case.due_date
    (received,) = StateChange.objects.filter(object_id=str(case.pk))
    assert (received.step, received.from_state, received.to_state, received.actor) == (
        "receive_at_window",
        CaseState.DRAFT,
        CaseState.ACCEPTED,
        officer,
    )
    client.force_login(resident)
    client.cookies["portal_language"] = "en"
    page = client.get(reverse("mypage:index")).content.decode()
    assert "Elderly allowance" in page and "filed at the window" in page
    case_page = client.get(case.get_absolute_url()).content.decode()
    assert "received your application at the window and accepted it" in case_page
    told = Message.objects.get(user=resident, kind="cases.submitted")
    assert case.reference in told.body


def test_filed_without_an_account_links_when_the_id_number_is_verified(officer_client, service):
    file_url = reverse("cases_admin_window_file", args=[service.pk])
    bad = officer_client.post(
        file_url, {"applicant-name": "Wong Siu Ming", "applicant-id_number": "A123456(4)"}
    )
    assert bad.status_code == 200 and "not a valid identity card number" in bad.content.decode()
    assert not Case.objects.exists()
    officer_client.post(
        file_url, {"applicant-name": "Wong Siu Ming", "applicant-id_number": "A123456(3)"}
    )
    case = Case.objects.get()
    assert case.applicant is None and case.applicant_id_number == "A1234563"

    # Later Mr Wong signs up; at the window an officer sees his card and records the number.
    wong = UserFactory(email="wong@example.org")
    response = officer_client.post(
        reverse("cases_admin_identity"), {"email": "wong@example.org", "id_number": "A123456(3)"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.applicant == wong
    assert Message.objects.filter(user=wong, kind="cases.linked").exists()
    # The same number cannot be given to another account.
    other = UserFactory(email="other@example.org")
    with pytest.raises(services.CaseError):
        services.verify_identity(other, "A1234563", by=None)
    assert ResidentIdentity.objects.get(id_number="A1234563").user == wong


def test_an_unverified_number_links_nothing(service, officer):
    services.file_at_window(
        service, officer=officer, answers={}, name="Lee", id_number="AB987654(3)"
    )
    identity = ResidentIdentity.objects.create(user=UserFactory(), id_number="AB9876543")
    assert services.link_cases_for(identity) == []
    assert Case.objects.get().applicant is None


def test_an_officer_cannot_file_for_another_offices_service(officer_client):
    theirs = ServiceFactory(office=OfficeFactory(code="ELSE"))
    assert (
        officer_client.get(reverse("cases_admin_window_file", args=[theirs.pk])).status_code == 404
    )


def test_the_hotline_records_a_complaint_and_texts_the_reference(
    officer_client, office, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "portal.notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    complaints = ServiceFactory(
        office=office, kind=Service.Kind.COMPLAINT, promised_days=5, name_en="Complaints"
    )
    street = StreetFactory()
    missing_place = officer_client.post(
        reverse("cases_admin_hotline"),
        {"service": complaints.pk, "category": "Noise", "description": "Drilling at night"},
    )
    assert "street or the community" in missing_place.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(
            reverse("cases_admin_hotline"),
            {
                "service": complaints.pk,
                "category": "Noise",
                "street": street.pk,
                "description": "Drilling every night after 11 pm",
                "caller_name": "Ms Ho",
                "phone": "98765432",
            },
        )
    case = Case.objects.get(channel=Case.Channel.HOTLINE)
    assert response.status_code == 302
    # The call is taken in and accepted by the operator: the reply time runs from the call.
    assert case.state == CaseState.ACCEPTED and case.accepted_on == timezone.localdate()
    assert StateChange.objects.get(object_id=str(case.pk)).step == "receive_call"
    assert case.community == street.community and case.category == "Noise"
    assert case.due_date is not None and case.applicant is None
    assert sms.outbox and case.reference in sms.outbox[-1]["text"]
    assert sms.outbox[-1]["phone"] == "98765432"


def test_a_caller_with_an_account_follows_the_case_online(officer, office):
    resident = UserFactory()
    resident.profile.phone = "98765432"
    resident.profile.save()
    enquiries = ServiceFactory(office=office, kind=Service.Kind.ENQUIRY, promised_days=3)
    case = services.record_hotline_call(
        enquiries,
        operator=officer,
        category="Rubbish",
        description="When is collection?",
        community=StreetFactory().community,
        phone="98765432",
    )
    assert case.applicant == resident
    with pytest.raises(services.CaseError):
        services.record_hotline_call(
            ServiceFactory(office=office),
            operator=officer,
            category="x",
            description="y",
            community=StreetFactory().community,
        )
