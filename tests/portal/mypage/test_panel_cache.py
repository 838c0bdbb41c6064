"""My page as the panels multiply: a query count that does not grow with the panels' items,
and per-resident fragment caching that nothing of one resident ever reaches another through
and that the changes affecting a panel drop at once."""

from datetime import date, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from health.booking import rules
from health.fhir.access import system_requester
from health.fhir.models import PatientLink
from health.fhir.store import create_resource
from portal.cards import services as cards
from portal.cases import services as cases
from portal.cases.models import CaseState
from portal.notifications import services as inbox
from portal.notifications.models import Message
from portal.workcalendar.services import seed_year
from tests.factories import UserFactory
from tests.health.booking.factories import AppointmentFactory, ClinicFactory, SlotFactory
from tests.portal.cards import factories as card_factories
from tests.portal.cases.factories import CaseFactory, ServiceFactory
from tests.portal.workcalendar.factories import ClosureDayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    """Card photos and case documents go to folders of the test's own."""
    settings.CARDS_FILES_ROOT = tmp_path / "card-files"
    settings.CASES_FILES_ROOT = tmp_path / "case-files"


def signed_in(user):
    client = Client()
    client.cookies["portal_language"] = "en"
    client.force_login(user)
    return client


def named(name):
    user = UserFactory()
    user.profile.display_name = name
    user.profile.preferred_language = "en"
    user.profile.save()
    return user


def page(client):
    response = client.get("/me/")
    assert response.status_code == 200
    return response.content.decode()


def panel(client, slug):
    """One panel's section of My page."""
    html = page(client)
    start = html.index(f'id="panel-{slug}"')
    return html[start : html.index("</section>", start)]


def queries(client):
    with CaptureQueriesContext(connection) as captured:
        page(client)
    return len(captured)


def book(user, clinic, hours, label):
    slot = SlotFactory(
        clinic=clinic,
        start=timezone.now() + timedelta(hours=hours),
        service__name_en=label,
    )
    return AppointmentFactory(slot=slot, resident=user)


def message(user, n, subject=None):
    return Message.objects.create(
        user=user, kind="general", subject=subject or f"Message {n}", body="", language="en"
    )


def open_case(user, label, received_on=None, **kwargs):
    case = CaseFactory(
        applicant=user,
        service=ServiceFactory(name_en=label),
        received_on=received_on or timezone.localdate(),
        **kwargs,
    )
    cases.refresh_due_date(case)
    case.refresh_from_db()
    return case


def patient_for(user, weight="70"):
    system = system_requester("test")
    pid = create_resource(
        "Patient", {"resourceType": "Patient", "name": [{"family": "Chan"}]}, requester=system
    ).resource.resource_id
    PatientLink.objects.create(user=user, patient_id=pid)
    return pid


def weight(pid, kg):
    create_resource(
        "Observation",
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "29463-7"}],
                "text": "Body weight",
            },
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": timezone.now().isoformat(),
            "valueQuantity": {"value": kg, "unit": "kg"},
        },
        requester=system_requester("test"),
    )


def test_the_query_count_does_not_grow_with_the_panels_items(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    clinic = ClinicFactory()
    few, many = named("Few"), named("Many")
    office = card_factories.OfficeFactory()
    officer = card_factories.officer_of(office)
    for user, count in ((few, 1), (many, 12)):
        for n in range(count):
            book(user, clinic, 24 + n, f"Service {n}")
            message(user, n)
            open_case(user, f"Application {n}")
            open_case(user, f"Decided {n}", state=CaseState.APPROVED)
        weight(patient_for(user), 70)
    # One open card application each; the many also hold a card and its history.
    card_factories.collected(officer, many, office)
    for user in (few, many):
        card_factories.submitted(user, office)
    few_client, many_client = signed_in(few), signed_in(many)
    page(few_client), page(many_client)  # first visits store a layout and a generation
    assert queries(few_client) == queries(many_client)


def test_a_cached_page_costs_fewer_queries_and_is_the_same_page():
    user = named("Cached")
    book(user, ClinicFactory(), 24, "Dental check")
    open_case(user, "Parking permit")
    application = card_factories.submitted(user)
    message(user, 1, "Your permit letter")
    client = signed_in(user)
    first = page(client)
    with CaptureQueriesContext(connection) as warm:
        second = page(client)
    for text in ("Dental check", "Parking permit", application.reference, "Your permit letter"):
        assert text in first and text in second
    # The cached panels (profile, appointments, health, cases, card, inbox) read nothing the
    # second time.
    sql = " ".join(q["sql"] for q in warm.captured_queries)
    for table in ("booking_appointment", "cases_case", "cards_cardapplication", "cards_card"):
        assert f'"{table}"' not in sql
    # Nor the layout, nor the header's unread count: both are kept with the fragments.
    assert '"mypage_panellayout"' not in sql and '"notifications_message"' not in sql
    # One read of the profile at most: the uncached announcements panel needs the street.
    profile_reads = [q for q in warm.captured_queries if 'FROM "accounts_profile"' in q["sql"]]
    assert len(profile_reads) <= 1


def test_nothing_of_one_resident_reaches_another():
    clinic = ClinicFactory()
    alice, bob = named("Alice Wong"), named("Bob Lee")
    book(alice, clinic, 24, "Physiotherapy for Alice")
    weight(patient_for(alice), 81)
    case = open_case(alice, "Alice's housing grant")
    application = card_factories.submitted(alice)
    message(alice, 1, "A letter for Alice")
    alice_page = page(signed_in(alice))
    alices = [
        "Alice Wong",
        "Physiotherapy for Alice",
        "81 kg",
        "Alice&#x27;s housing grant",
        case.reference,
        application.reference,
        "A letter for Alice",
    ]
    for text in alices:
        assert text in alice_page
    bob_page = page(signed_in(bob))
    assert "Bob Lee" in bob_page
    assert "You have no applications." in bob_page
    assert "You have no social security card application." in bob_page
    assert "You have no messages yet." in bob_page
    for text in alices:
        assert text not in bob_page
    # And back: Alice's cached page is hers, not Bob's.
    again = page(signed_in(alice))
    assert "Alice Wong" in again and "Bob Lee" not in again


def test_each_language_has_its_own_fragment():
    user = named("Lang")
    client = signed_in(user)
    english = page(client)
    client.cookies["portal_language"] = "zh-hans"
    chinese = page(client)
    assert "My profile" in english and "My profile" not in chinese


def test_changes_drop_the_cached_fragments(django_capture_on_commit_callbacks):
    clinic = ClinicFactory()
    user = named("Before")
    client = signed_in(user)
    appointment = book(user, clinic, 24, "Eye test")
    pid = patient_for(user)
    first = page(client)
    assert "Before" in first and "Eye test" in first
    # A profile saved.
    user.profile.display_name = "After"
    user.profile.save()
    assert "After" in page(client)
    # A new appointment (a row written), then a cancellation (a status change through the
    # workflow, an UPDATE without a save signal).
    book(user, clinic, 48, "Hearing test")
    assert "Hearing test" in page(client)
    with django_capture_on_commit_callbacks(execute=True):
        rules.cancel(appointment, by=user, enforce_cutoff=False)
    assert "Eye test" not in page(client)
    # A write into the linked health record, through the store.
    with django_capture_on_commit_callbacks(execute=True):
        weight(pid, 64)
    assert "64" in page(client)


def test_the_cases_panel_follows_every_change_to_the_residents_cases(
    settings, django_capture_on_commit_callbacks
):
    settings.WORKCALENDAR_REGION = "HK"
    seed_year(2026, confirm=True)
    user = named("Applicant")
    client = signed_in(user)
    assert "You have no applications." in page(client)
    # Filed (a row written).
    case = open_case(user, "Proof of address", received_on=date(2026, 7, 6))
    first = page(client)
    assert "Proof of address" in first and "17 July 2026" in first
    # A calendar change moves the due date: the recompute writes it with one UPDATE for a
    # batch and its history rows in bulk, no save signal.
    with django_capture_on_commit_callbacks(execute=True):
        ClosureDayFactory(date=date(2026, 7, 9))
    moved = page(client)
    assert "20 July 2026" in moved and "17 July 2026" not in moved
    # A status change through the workflow (the resident withdraws).
    with django_capture_on_commit_callbacks(execute=True):
        cases.withdraw(case, by=user, reason="Filed twice")
    withdrawn = page(client)
    assert "Recent results" in withdrawn and "20 July 2026" not in withdrawn
    # A case filed at the window for their ID number becomes theirs when an officer verifies
    # their identity (an UPDATE of its applicant).
    window = CaseFactory(
        applicant=None,
        applicant_id_number="A1234563",
        service=ServiceFactory(name_en="Filed at the window"),
        received_on=timezone.localdate(),
    )
    assert "Filed at the window" not in page(client)
    with django_capture_on_commit_callbacks(execute=True):
        cases.verify_identity(user, "A1234563", by=None)
    assert window.reference in page(client)


def test_the_card_panel_follows_applications_and_cards(django_capture_on_commit_callbacks):
    office = card_factories.OfficeFactory()
    officer = card_factories.officer_of(office)
    user = named("Holder")
    client = signed_in(user)
    assert "You have no social security card application." in panel(client, "card")
    with django_capture_on_commit_callbacks(execute=True):
        application = card_factories.draft(user, office)
    assert application.reference in panel(client, "card")
    with django_capture_on_commit_callbacks(execute=True):
        cards.submit(application, by=user)
    assert "Submitted" in panel(client, "card")
    with django_capture_on_commit_callbacks(execute=True):
        cards.approve(application, by=officer)
    assert "Photo and data approved" in panel(client, "card")
    with django_capture_on_commit_callbacks(execute=True):
        batch = cards.create_batch(office, [application], by=officer)
        cards.mark_batch_ready(batch, by=officer)
    assert "Ready for collection" in panel(client, "card")
    with django_capture_on_commit_callbacks(execute=True):
        application.refresh_from_db()
        cards.record_collection(application, by=officer)
    card = application.card
    assert card.masked_number in panel(client, "card")
    # Reporting the card lost changes the card's status (its holder, not an applicant).
    with django_capture_on_commit_callbacks(execute=True):
        cards.report_lost(card, by=user)
    assert card.masked_number not in panel(client, "card")


def test_the_inbox_panel_follows_new_read_and_deleted_messages():
    user = named("Reader")
    client = signed_in(user)
    assert "You have no messages yet." in panel(client, "inbox")
    first = message(user, 1, "Water will be off on Friday")
    second = message(user, 2, "Your library card is ready")
    shown = panel(client, "inbox")
    assert "Water will be off on Friday" in shown and "2 unread messages" in shown
    inbox.mark_read(first)
    assert "1 unread message" in panel(client, "inbox")
    inbox.mark_all_read(user)
    assert "0 unread messages" in panel(client, "inbox")
    second.delete()
    assert "Your library card is ready" not in panel(client, "inbox")


def test_the_changes_of_one_transaction_are_one_cache_call_now_and_one_at_the_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from portal.mypage import panels

    calls = []
    real_bump = panels._bump
    monkeypatch.setattr(panels, "_bump", lambda ids: (calls.append(set(ids)), real_bump(ids)))
    first, second = UserFactory(), UserFactory()
    tokens = {user.pk: panels.generation(user) for user in (first, second)}
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        # A booking: the appointment's save, the message's save, the workflow's signal.
        panels.changed(first.pk)
        panels.changed(first.pk)
        panels.changed(first.pk, second.pk)
        assert calls == [{first.pk}, {second.pk}]
        # Read on this connection (a page rendered in the transaction): bumped again.
        panels.generation(first)
        panels.changed(first.pk)
        assert calls[-1] == {first.pk}
        # A savepoint rolled back takes its registration along; the next change registers.
        try:
            with transaction.atomic():
                panels.changed(second.pk)
                raise RuntimeError
        except RuntimeError:
            pass
        panels.changed(first.pk)
        calls.clear()
    assert calls == [{first.pk, second.pk}, {first.pk}]  # the first batch, the one after
    assert all(panels.generation(user) != tokens[user.pk] for user in (first, second))


def test_a_first_visit_reads_each_panel_in_few_queries():
    """A resident's first visit to My page (nothing of theirs cached; another resident's visit
    before it warmed what every page shares) with something in every panel: the queries are
    pinned, so that a panel growing a query shows here. On PostgreSQL:

    - the session with its user, their profile and their staff flag (every signed-in page,
      one query: the MFA middleware's staff check, the preferred language and the record's
      clinic-staff check read it);
    - the layout; the account's record links, whether the connected-apps panel applies (read
      once for it and the health panel; whether an app is connected only without a link);
    - profile: the primary e-mail address, whether MFA is on (the profile came with the user;
      its street, when it has one, is one more query, which the announcements panel then
      reads from it);
    - cases: how many open, decided and draft cases (one query), the open ones, the status
      wording of their services;
    - card: the open application, the card held;
    - appointments: the next ones, each with whether a waitlist offer is open;
    - health: the record's six searches in one statement (built once per thread, read without
      a server-side cursor), their audit rows in one INSERT (alone outside a transaction: no
      BEGIN and COMMIT), the labels of their codes;
    - announcements: the area's list is the street's, kept for its residents; with
      announcements, what the resident has read too;
    - connected apps, favourite stops, the inbox with its unread count (one query).
    """
    clinic = ClinicFactory()
    someone, resident = named("Someone"), named("Resident")
    for user in (someone, resident):
        book(user, clinic, 24, "Dental check")
        message(user, 1)
        open_case(user, "Parking permit")
        card_factories.submitted(user)
        weight(patient_for(user), 70)
    page(signed_in(someone))
    client = signed_in(resident)
    # Elsewhere (SQLite) the record's six searches are six statements.
    assert queries(client) == (17 if connection.vendor == "postgresql" else 22)


def test_the_appointments_panel_shows_an_open_offer_with_or_without_appointments():
    from health.booking.models import WaitlistEntry, WaitlistStatus

    clinic = ClinicFactory()
    offer = "A place you were waiting for is free."
    booked, waiting = named("Booked"), named("Waiting")
    book(booked, clinic, 24, "Dental check")
    assert offer not in panel(signed_in(booked), "appointments")
    for user in (booked, waiting):
        WaitlistEntry.objects.create(
            slot=SlotFactory(clinic=clinic, start=timezone.now() + timedelta(hours=30)),
            resident=user,
            status=WaitlistStatus.OFFERED,
            offered_at=timezone.now(),
            offer_expires_at=timezone.now() + timedelta(hours=2),
        )
    for user in (booked, waiting):  # the entry's save dropped the cached panel
        assert offer in panel(signed_in(user), "appointments")
    assert "Dental check" in panel(signed_in(booked), "appointments")


def test_the_profile_panel_reads_the_street_once_for_itself_and_the_announcements():
    """The profile came with the user: the profile panel shows its name and home address
    (street and community) reading only the street, with its community, and the
    announcements panel finds that street on the profile."""
    from tests.factories import StreetFactory

    user = named("Street Person")
    street = StreetFactory(name_en="Praya Road", community__name_en="Harbour")
    user.profile.street = street
    user.profile.save()
    client = signed_in(user)
    with CaptureQueriesContext(connection) as captured:
        html = panel(client, "profile")
    assert "Street Person" in html and "Praya Road, Harbour" in html
    profile_reads = [q for q in captured if 'FROM "accounts_profile"' in q["sql"]]
    street_reads = [q for q in captured if 'FROM "accounts_street"' in q["sql"]]
    assert profile_reads == [] and len(street_reads) == 1
