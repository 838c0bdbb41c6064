"""The card application's lifecycle through the shared transitions: every step in history,
invalid steps refused, one open application per person (a database constraint), officers of
another office refused, batches, collection, and a lost card blocked and replaced."""

from django.db import IntegrityError, transaction

import pytest

from portal.cards import services
from portal.cards.models import ApplicationState, Card, CardApplication, CardState
from portal.notifications.models import Message
from portal.workflow import TransitionError
from portal.workflow.history import records

from .factories import (
    OfficeFactory,
    UserFactory,
    application_data,
    approved,
    checked_photo,
    collected,
    draft,
    officer_of,
    ready,
    submitted,
)

pytestmark = pytest.mark.django_db
S = ApplicationState


def steps(obj):
    return list(records(obj).values_list("step", flat=True))


def test_the_whole_way_from_draft_to_collected_card_is_in_history():
    office = OfficeFactory()
    officer = officer_of(office)
    application = collected(officer, office=office)
    assert application.state == S.COLLECTED
    assert steps(application) == ["start", "submit", "approve", "produce", "ready", "collect"]
    card = Card.objects.get(application=application)
    assert card.state == CardState.ACTIVE and card.holder == application.applicant
    assert steps(card) == ["issue"]
    kinds = set(Message.objects.filter(user=application.applicant).values_list("kind", flat=True))
    assert {"cards.submitted", "cards.approved", "cards.ready"} <= kinds


def test_ready_says_where_to_collect_and_until_when():
    office = OfficeFactory(name_en="Harbour Street Office", address_en="20 Praya Road")
    officer = officer_of(office)
    application = ready(officer, office=office)
    assert application.collect_by is not None
    message = Message.objects.get(user=application.applicant, kind="cards.ready")
    body = message.texts["en"]["inbox"]["body"]
    assert "Harbour Street Office" in body and "20 Praya Road" in body
    assert str(application.collect_by.year) in body


@pytest.mark.parametrize(
    "make, target",
    [
        ("draft", S.APPROVED),
        ("draft", S.READY),
        ("submitted", S.IN_PRODUCTION),
        ("submitted", S.COLLECTED),
        ("approved", S.READY),
        ("approved", S.CORRECTION),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(make, target):
    from portal.workflow import transition

    office = OfficeFactory()
    officer = officer_of(office)
    application = {
        "draft": lambda: draft(office=office),
        "submitted": lambda: submitted(office=office),
        "approved": lambda: approved(officer, office=office),
    }[make]()
    before = application.state
    history = steps(application)
    with pytest.raises(TransitionError):
        transition(application, target, by=officer, reason="test")
    application.refresh_from_db()
    assert application.state == before
    assert steps(application) == history


def test_a_resident_cannot_approve_their_own_application():
    application = submitted()
    with pytest.raises(TransitionError) as error:
        services.approve(application, by=application.applicant)
    assert error.value.code == "forbidden"
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_an_officer_of_another_office_is_refused():
    mine, theirs = OfficeFactory(), OfficeFactory()
    officer = officer_of(mine)
    application = submitted(office=theirs)
    with pytest.raises(TransitionError) as error:
        services.approve(application, by=officer)
    assert error.value.code == "forbidden"
    with pytest.raises(services.CardError):
        services.create_batch(theirs, [application], by=officer)
    application.refresh_from_db()
    assert application.state == S.SUBMITTED
    assert not services.office_applications(officer).filter(pk=application.pk).exists()


def test_a_correction_needs_a_reason_and_comes_back_resubmitted():
    office = OfficeFactory()
    officer = officer_of(office)
    application = submitted(office=office)
    with pytest.raises(TransitionError) as error:
        services.request_correction(application, "  ", by=officer)
    assert error.value.code == "reason-required"
    services.request_correction(application, "The photo is blurred.", by=officer)
    application.refresh_from_db()
    assert application.state == S.CORRECTION
    assert application.correction_reason == "The photo is blurred."
    message = Message.objects.get(user=application.applicant, kind="cards.correction_requested")
    assert "The photo is blurred." in message.texts["en"]["inbox"]["body"]

    services.resubmit(
        application,
        application_data(office, full_name="Chan Tai-man"),
        checked_photo(width=500, height=650),
        by=application.applicant,
    )
    application.refresh_from_db()
    assert application.state == S.RESUBMITTED
    assert application.full_name == "Chan Tai-man" and application.photo_width == 500
    services.approve(application, by=officer)
    application.refresh_from_db()
    assert application.state == S.APPROVED and application.correction_reason == ""


def test_one_open_application_per_person():
    resident = UserFactory()
    office = OfficeFactory()
    first = draft(resident, office)
    with pytest.raises(services.CardError):
        services.start(resident, application_data(office), checked_photo())
    assert CardApplication.objects.filter(applicant=resident).count() == 1
    # The database holds it even when the rule is bypassed.
    with pytest.raises(IntegrityError), transaction.atomic():
        CardApplication.objects.create(
            applicant=resident, state=S.SUBMITTED, **application_data(office)
        )
    # Once it is withdrawn, a new one can start.
    services.withdraw(first, by=resident)
    second = services.start(resident, application_data(office), checked_photo())
    assert second.state == S.DRAFT


def test_the_id_number_is_stored_normalised():
    application = draft(id_number="a123456(3)")
    assert application.id_number == "A1234563"


def test_batch_actions_move_every_application_and_refuse_unapproved_ones():
    office = OfficeFactory()
    officer = officer_of(office)
    first, second = approved(officer, office=office), approved(officer, office=office)
    pending = submitted(office=office)
    with pytest.raises(TransitionError):
        services.create_batch(office, [first, pending], by=officer)
    first.refresh_from_db()
    assert first.state == S.APPROVED and first.batch_id is None  # nothing of it was written

    batch = services.create_batch(office, [first, second], by=officer)
    assert set(batch.applications.values_list("state", flat=True)) == {S.IN_PRODUCTION}
    services.mark_batch_ready(batch, by=officer)
    assert set(batch.applications.values_list("state", flat=True)) == {S.READY}
    with pytest.raises(services.CardError):
        services.mark_batch_ready(batch, by=officer)
    first.refresh_from_db()
    services.record_collection(first, by=officer)
    first.refresh_from_db()
    assert first.state == S.COLLECTED and first.card.state == CardState.ACTIVE
    with pytest.raises(TransitionError):
        services.record_collection(first, by=officer)


def test_reporting_a_lost_card_blocks_it_and_starts_a_prefilled_replacement():
    office = OfficeFactory()
    officer = officer_of(office)
    original = collected(officer, office=office)
    card = original.card
    replacement = services.report_lost(card, by=original.applicant)
    card.refresh_from_db()
    assert card.state == CardState.BLOCKED and card.blocked_at is not None
    assert steps(card) == ["issue", "report_lost"]
    assert Message.objects.filter(user=card.holder, kind="cards.blocked").exists()
    assert replacement.state == S.DRAFT
    assert replacement.kind == CardApplication.Kind.REPLACEMENT
    assert replacement.replaces == card
    for name in ("full_name", "date_of_birth", "id_number", "collection_point_id"):
        assert getattr(replacement, name) == getattr(original, name)
    assert replacement.photo and replacement.photo.name != original.photo.name
    with replacement.photo.open("rb") as copy, original.photo.open("rb") as source:
        assert copy.read() == source.read()
    # A blocked card cannot be reported again.
    with pytest.raises(TransitionError):
        services.report_lost(card, by=original.applicant)


def test_another_resident_cannot_report_your_card_lost():
    office = OfficeFactory()
    application = collected(officer_of(office), office=office)
    with pytest.raises(TransitionError):
        services.report_lost(application.card, by=UserFactory())
    application.card.refresh_from_db()
    assert application.card.state == CardState.ACTIVE
