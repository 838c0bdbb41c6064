"""Officers in the Wagtail admin: the list of their offices' applications, approve or ask
for a correction, the batch actions (create a production batch, mark it ready, record
collection); another office's application, photo or batch is refused, and every action is in
the history staff see."""

from django.urls import reverse

import pytest

from portal.cards.models import ApplicationState, CardState, ProductionBatch
from portal.notifications.models import Message
from portal.workflow.history import records

from .factories import OfficeFactory, approved, officer_of, submitted

pytestmark = pytest.mark.django_db
S = ApplicationState


@pytest.fixture
def office_a():
    return OfficeFactory(code="AAA", name_en="Office A")


@pytest.fixture
def office_b():
    return OfficeFactory(code="BBB", name_en="Office B")


@pytest.fixture
def officer(office_a):
    return officer_of(office_a)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def test_the_list_shows_only_the_officers_office(officer_client, office_a, office_b):
    mine = submitted(office=office_a, full_name="Mine Person")
    theirs = submitted(office=office_b, full_name="Their Person")
    page = officer_client.get(reverse("cards_admin_list")).content.decode()
    assert mine.reference in page and "Mine Person" in page
    assert theirs.reference not in page and "Their Person" not in page
    # Choosing the other office by id is not a way in.
    response = officer_client.get(reverse("cards_admin_list") + f"?office={office_b.pk}")
    assert response.status_code == 404


def test_approve_and_request_correction_with_history(officer_client, office_a, officer):
    first, second = submitted(office=office_a), submitted(office=office_a)
    url = reverse("cards_admin_application", args=[first.pk])
    page = officer_client.get(url).content.decode()
    assert "Approve photo and data" in page and "Sent by the resident" in page
    assert officer_client.get(reverse("cards_admin_photo", args=[first.pk])).status_code == 200
    officer_client.post(url, {"action": "approve"})
    first.refresh_from_db()
    assert first.state == S.APPROVED

    url = reverse("cards_admin_application", args=[second.pk])
    response = officer_client.post(url, {"action": "correction", "reason": ""})
    assert response.status_code == 200  # the form again, with its error
    second.refresh_from_db()
    assert second.state == S.SUBMITTED
    officer_client.post(
        url, {"action": "correction", "reason": "Please send a photo without a hat."}
    )
    second.refresh_from_db()
    assert second.state == S.CORRECTION
    row = records(second).last()
    assert row.step == "request_correction" and row.actor == officer
    assert row.reason == "Please send a photo without a hat."
    page = officer_client.get(url).content.decode()
    assert "Correction requested" in page and "Please send a photo without a hat." in page


def test_an_officer_of_another_office_is_refused(officer_client, office_b):
    theirs = submitted(office=office_b)
    url = reverse("cards_admin_application", args=[theirs.pk])
    assert officer_client.get(url).status_code == 404
    assert officer_client.post(url, {"action": "approve"}).status_code == 404
    assert officer_client.get(reverse("cards_admin_photo", args=[theirs.pk])).status_code == 404
    other_officer = officer_of(office_b)
    approved_theirs = approved(other_officer, office=office_b)
    response = officer_client.post(
        reverse("cards_admin_create_batch"),
        {"office": office_b.pk, "application": [approved_theirs.pk]},
    )
    assert response.status_code == 404
    from portal.cards import services

    batch = services.create_batch(office_b, [approved_theirs], by=other_officer)
    batch_url = reverse("cards_admin_batch", args=[batch.pk])
    assert officer_client.get(batch_url).status_code == 404
    assert officer_client.post(batch_url, {"action": "ready"}).status_code == 404
    theirs.refresh_from_db()
    batch.refresh_from_db()
    assert theirs.state == S.SUBMITTED and batch.ready_at is None


def test_a_resident_or_a_nurse_cannot_open_the_officer_pages(client, office_a):
    from tests.factories import StaffFactory, UserFactory, with_totp

    application = submitted(office=office_a)
    for user in (UserFactory(), with_totp(StaffFactory(clinic_staff=True))):
        client.force_login(user)
        response = client.get(reverse("cards_admin_application", args=[application.pk]))
        assert response.status_code in (302, 403, 404)


def test_batch_actions_from_approval_to_collection(officer_client, office_a, officer):
    first, second = approved(officer, office=office_a), approved(officer, office=office_a)
    page = officer_client.get(reverse("cards_admin_list") + "?status=approved").content.decode()
    assert "Create a production batch" in page
    response = officer_client.post(
        reverse("cards_admin_create_batch"),
        {"office": office_a.pk, "application": [first.pk, second.pk]},
    )
    batch = ProductionBatch.objects.get()
    assert response["Location"] == reverse("cards_admin_batch", args=[batch.pk])
    first.refresh_from_db()
    assert first.state == S.IN_PRODUCTION and first.batch == batch

    batch_url = reverse("cards_admin_batch", args=[batch.pk])
    officer_client.post(batch_url, {"action": "ready"})
    first.refresh_from_db()
    assert first.state == S.READY and first.collect_by is not None
    assert Message.objects.filter(user=first.applicant, kind="cards.ready").exists()
    # Marking it ready twice changes nothing and tells why.
    response = officer_client.post(batch_url, {"action": "ready"}, follow=True)
    assert "already marked ready" in response.content.decode()

    officer_client.post(batch_url, {"action": "collect", "application": [first.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == S.COLLECTED and first.card.state == CardState.ACTIVE
    assert second.state == S.READY
    staff_page = officer_client.get(
        reverse("cards_admin_application", args=[first.pk])
    ).content.decode()
    for label in ("Put into a production batch", "Card ready for collection", "Card handed"):
        assert label in staff_page


def test_a_batch_cannot_take_unapproved_or_foreign_applications(
    officer_client, office_a, office_b, officer
):
    pending = submitted(office=office_a)
    response = officer_client.post(
        reverse("cards_admin_create_batch"),
        {"office": office_a.pk, "application": [pending.pk]},
        follow=True,
    )
    assert "cannot be done while the application is" in response.content.decode()
    theirs = approved(officer_of(office_b), office=office_b)
    officer_client.post(
        reverse("cards_admin_create_batch"),
        {"office": office_a.pk, "application": [theirs.pk]},
    )
    assert not ProductionBatch.objects.exists()
    pending.refresh_from_db()
    theirs.refresh_from_db()
    assert pending.state == S.SUBMITTED and theirs.state == S.APPROVED


def test_bad_ids_and_actions_are_not_errors(officer_client, office_a):
    application = submitted(office=office_a)
    url = reverse("cards_admin_application", args=[application.pk])
    assert officer_client.post(url, {"action": "nonsense"}).status_code == 200
    response = officer_client.post(
        reverse("cards_admin_create_batch"), {"office": "x", "application": ["y"]}
    )
    assert response.status_code == 404
    assert officer_client.get(reverse("cards_admin_list") + "?status=zzz&page=x").status_code == 200


def test_an_officer_blocks_a_card_with_a_reason(officer_client, office_a, office_b, officer):
    from .factories import collected

    application = collected(officer, office=office_a)
    url = reverse("cards_admin_application", args=[application.pk])
    assert "Block this card" in officer_client.get(url).content.decode()
    response = officer_client.post(url, {"action": "block", "reason": ""})
    assert response.status_code == 200
    application.card.refresh_from_db()
    assert application.card.state == CardState.ACTIVE
    officer_client.post(url, {"action": "block", "reason": "Reported stolen at the counter."})
    application.card.refresh_from_db()
    assert application.card.state == CardState.BLOCKED
    message = Message.objects.get(user=application.applicant, kind="cards.blocked")
    assert "Reported stolen at the counter." in message.texts["en"]["inbox"]["body"]
    page = officer_client.get(url).content.decode()
    assert "Blocked by the office" in page and "Block this card" not in page

    theirs = collected(officer_of(office_b), office=office_b)
    url = reverse("cards_admin_application", args=[theirs.pk])
    assert officer_client.post(url, {"action": "block", "reason": "x"}).status_code == 404
    theirs.card.refresh_from_db()
    assert theirs.card.state == CardState.ACTIVE
