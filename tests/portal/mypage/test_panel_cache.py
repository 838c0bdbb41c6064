"""My page as the panels multiply: a query count that does not grow with the panels' items,
and per-resident fragment caching that nothing of one resident ever reaches another through
and that the changes affecting a panel drop at once."""

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from health.booking import rules
from health.fhir.access import system_requester
from health.fhir.models import PatientLink
from health.fhir.store import create_resource
from portal.notifications.models import Message
from tests.factories import UserFactory
from tests.health.booking.factories import AppointmentFactory, ClinicFactory, SlotFactory

pytestmark = pytest.mark.django_db


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


def message(user, n):
    Message.objects.create(
        user=user, kind="general", subject=f"Message {n}", body="", language="en"
    )


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
    for user, count in ((few, 1), (many, 12)):
        for n in range(count):
            book(user, clinic, 24 + n, f"Service {n}")
            message(user, n)
        weight(patient_for(user), 70)
    few_client, many_client = signed_in(few), signed_in(many)
    page(few_client), page(many_client)  # first visits store a layout and a generation
    assert queries(few_client) == queries(many_client)


def test_a_cached_page_costs_fewer_queries_and_is_the_same_page():
    user = named("Cached")
    book(user, ClinicFactory(), 24, "Dental check")
    client = signed_in(user)
    first = page(client)
    with CaptureQueriesContext(connection) as warm:
        second = page(client)
    assert "Dental check" in first and "Dental check" in second
    # The cached panels (profile, appointments, health) read nothing the second time.
    sql = " ".join(q["sql"] for q in warm.captured_queries)
    assert "booking_appointment" not in sql
    # One read of the profile at most: the uncached announcements panel needs the street.
    profile_reads = [q for q in warm.captured_queries if 'FROM "accounts_profile"' in q["sql"]]
    assert len(profile_reads) <= 1


def test_nothing_of_one_resident_reaches_another():
    clinic = ClinicFactory()
    alice, bob = named("Alice Wong"), named("Bob Lee")
    book(alice, clinic, 24, "Physiotherapy for Alice")
    weight(patient_for(alice), 81)
    alice_page = page(signed_in(alice))
    assert "Alice Wong" in alice_page and "Physiotherapy for Alice" in alice_page
    assert "81" in alice_page
    bob_page = page(signed_in(bob))
    assert "Bob Lee" in bob_page
    for text in ("Alice Wong", "Physiotherapy for Alice", "81 kg"):
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
