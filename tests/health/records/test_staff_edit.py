"""Clinic staff correct an entry's values: a new version through the store's If-Match update."""

import json

from django.test import Client
from django.urls import reverse

import pytest

from health.fhir.models import AuditEvent, Resource, ResourceVersion
from health.records import staff as staff_writes

from .conftest import load_patient

pytestmark = pytest.mark.django_db

CHANGED = "changed by someone else meanwhile"


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    client.cookies["portal_language"] = "en"  # the assertions read English messages
    return client


def _add(client, pid, kind, rtype, data):
    """Add an entry through the staff add form; returns its stored Resource row."""
    before = set(
        Resource.objects.filter(resource_type=rtype, patient_id=pid).values_list(
            "resource_id", flat=True
        )
    )
    response = client.post(reverse("records_admin:add", args=[pid, kind]), data)
    assert response.status_code == 302, response.content[:300]
    (new,) = Resource.objects.filter(resource_type=rtype, patient_id=pid).exclude(
        resource_id__in=before
    )
    return new


def _edit_url(pid, kind, resource):
    return reverse("records_admin:edit", args=[pid, kind, resource.resource_id])


def _versions(resource):
    return ResourceVersion.objects.filter(current=resource).count()


CASES = [
    (
        "condition",
        "Condition",
        {"text": "Asthma", "code": "195967001", "date": "2024-03-01"},
        {"text": "Chronic asthma", "code": "195967001", "date": "2024-02-01"},
        lambda b: (b["code"]["text"], b["onsetDateTime"]),
        ("Chronic asthma", "2024-02-01"),
    ),
    (
        "allergy",
        "AllergyIntolerance",
        {"text": "Penicillin allergy", "code": "91936005"},
        {"text": "Amoxicillin allergy", "code": "294505008"},
        lambda b: (b["code"]["text"], b["code"]["coding"][0]["code"]),
        ("Amoxicillin allergy", "294505008"),
    ),
    (
        "immunization",
        "Immunization",
        {"text": "Influenza", "code": "140", "date": "2025-10-01"},
        {"text": "Influenza, quadrivalent", "code": "150", "date": "2025-10-02"},
        lambda b: (b["vaccineCode"]["text"], b["occurrenceDateTime"]),
        ("Influenza, quadrivalent", "2025-10-02"),
    ),
    (
        "vitals",
        "Observation",
        {"weight": "70.5"},
        {"weight": "71.2"},
        lambda b: b["valueQuantity"]["value"],
        71.2,
    ),
    (
        "vitals",
        "Observation",
        {"systolic": "128", "diastolic": "82"},
        {"systolic": "131", "diastolic": "85"},
        lambda b: [c["valueQuantity"]["value"] for c in b["component"]],
        [131.0, 85.0],
    ),
]


@pytest.mark.parametrize(
    ("kind", "rtype", "added", "corrected", "value", "expected"),
    CASES,
    ids=["condition", "allergy", "immunization", "weight", "blood-pressure"],
)
def test_edit_writes_a_new_version(
    staff_client, staff, kind, rtype, added, corrected, value, expected
):
    pid = load_patient(41, encounters=1)
    entry = _add(staff_client, pid, kind, rtype, added)
    url = _edit_url(pid, kind, entry)

    page = staff_client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    for name, text in added.items():
        shown = form[name].value()
        assert str(shown) == text or float(shown) == float(text), (name, shown)
    if kind == "vitals":
        assert set(form.fields) == set(added)  # one Observation, its own measurements
    assert 'name="version" value="1"' in page.content.decode()
    entry.refresh_from_db()
    assert entry.version_id == 1, "GET changes nothing"

    response = staff_client.post(url, {**corrected, "version": "1"})
    assert response.status_code == 302, response.content[:500]
    entry.refresh_from_db()
    assert entry.version_id == 2
    assert value(json.loads(entry.body)) == expected
    assert _versions(entry) == 2
    first = ResourceVersion.objects.get(current=entry, version_id=1)
    assert value(json.loads(first.body)) != expected
    assert AuditEvent.objects.filter(
        user=staff,
        action="update",
        resource_type=rtype,
        resource_id=entry.resource_id,
        patient_id=pid,
        detail="staff edit",
    ).exists()


def _note_of(encounter):
    (document,) = [
        row
        for row in Resource.objects.filter(
            resource_type="DocumentReference", patient_id=encounter.patient_id
        )
        if f"Encounter/{encounter.resource_id}" in row.body
    ]
    return document


def test_edit_encounter_note_writes_new_versions(staff_client, staff):
    pid = load_patient(49, encounters=1)
    encounter = _add(
        staff_client, pid, "note", "Encounter", {"reason": "Follow-up", "note": "Feeling better."}
    )
    document = _note_of(encounter)
    url = _edit_url(pid, "note", encounter)
    page = staff_client.get(url)
    assert page.status_code == 200
    assert page.context["form"]["note"].value() == "Feeling better."
    assert page.context["form"]["reason"].value() == "Follow-up"
    assert 'name="version" value="1.1"' in page.content.decode()
    response = staff_client.post(
        url, {"reason": "Second follow-up", "note": "Much better now.", "version": "1.1"}
    )
    assert response.status_code == 302, response.content[:500]
    encounter.refresh_from_db()
    document.refresh_from_db()
    assert (encounter.version_id, document.version_id) == (2, 2)
    assert _versions(encounter) == _versions(document) == 2
    assert json.loads(encounter.body)["reasonCode"] == [{"text": "Second follow-up"}]
    assert staff_client.get(url).context["form"]["note"].value() == "Much better now."
    assert AuditEvent.objects.filter(
        user=staff, action="update", resource_id=document.resource_id, detail="staff edit"
    ).exists()
    # A stale note version: nothing changes, neither the Encounter nor the note.
    response = staff_client.post(url, {"reason": "Third", "note": "Stale.", "version": "2.1"})
    assert response.status_code == 409
    assert CHANGED in response.content.decode()
    encounter.refresh_from_db()
    document.refresh_from_db()
    assert (encounter.version_id, document.version_id) == (2, 2)
    # Bad input: the note is required.
    response = staff_client.post(url, {"reason": "Third", "note": "", "version": "2.2"})
    assert response.status_code == 200
    assert response.context["form"].errors
    encounter.refresh_from_db()
    assert encounter.version_id == 2
    # The record page links to it; an encounter without a staff note is not editable.
    page = staff_client.get(reverse("records_admin:patient", args=[pid])).content.decode()
    assert url in page
    imported = Resource.objects.filter(resource_type="Encounter", patient_id=pid).exclude(
        resource_id=encounter.resource_id
    )[0]
    assert _edit_url(pid, "note", imported) not in page
    assert staff_client.get(_edit_url(pid, "note", imported)).status_code == 404


def test_edit_keeps_what_the_form_does_not_own(staff_client):
    pid = load_patient(42, encounters=1)
    allergy = Resource.objects.get(resource_type="AllergyIntolerance", patient_id=pid)
    stored = json.loads(allergy.body)
    url = _edit_url(pid, "allergy", allergy)
    assert "Allergy to peanuts" in staff_client.get(url).content.decode()
    response = staff_client.post(
        url, {"text": "Allergy to tree nuts", "code": "", "version": str(allergy.version_id)}
    )
    assert response.status_code == 302
    allergy.refresh_from_db()
    body = json.loads(allergy.body)
    assert body["code"]["text"] == "Allergy to tree nuts"
    for element in ("patient", "clinicalStatus", "verificationStatus"):
        assert body[element] == stored[element]


def test_stale_version_is_refused_with_a_message(staff_client, staff):
    pid = load_patient(43, encounters=1)
    entry = _add(staff_client, pid, "condition", "Condition", {"text": "Asthma"})
    url = _edit_url(pid, "condition", entry)
    assert staff_client.get(url).status_code == 200  # the form is loaded at version 1
    # Meanwhile a colleague corrects it.
    staff_writes.edit_entry(
        staff,
        "condition",
        pid,
        entry.resource_id,
        {"text": "Colleague's asthma", "code": "", "date": None},
        1,
    )
    response = staff_client.post(url, {"text": "My asthma", "code": "", "version": "1"})
    assert response.status_code == 409
    assert CHANGED in response.content.decode()
    entry.refresh_from_db()
    assert entry.version_id == 2
    assert json.loads(entry.body)["code"]["text"] == "Colleague's asthma"
    assert _versions(entry) == 2
    # A missing version is refused the same way, never an unconditional overwrite.
    response = staff_client.post(url, {"text": "My asthma", "code": ""})
    assert response.status_code == 409
    # And a version of digits int() does not read ("²"), the same: no server error.
    response = staff_client.post(url, {"text": "My asthma", "code": "", "version": "²"})
    assert response.status_code == 409
    entry.refresh_from_db()
    assert entry.version_id == 2


@pytest.mark.parametrize(
    ("kind", "rtype", "added", "bad"),
    [
        ("condition", "Condition", {"text": "Asthma"}, {"text": ""}),
        ("immunization", "Immunization", {"text": "Influenza"}, {"text": "x", "date": "nope"}),
        ("vitals", "Observation", {"systolic": "128", "diastolic": "82"}, {"systolic": "130"}),
        ("vitals", "Observation", {"weight": "70"}, {"weight": "9000"}),
    ],
    ids=["empty-text", "bad-date", "half-blood-pressure", "out-of-range"],
)
def test_bad_input_shows_the_form_and_changes_nothing(staff_client, kind, rtype, added, bad):
    pid = load_patient(44, encounters=1)
    entry = _add(staff_client, pid, kind, rtype, added)
    body = entry.body
    response = staff_client.post(_edit_url(pid, kind, entry), {**bad, "version": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors
    entry.refresh_from_db()
    assert entry.version_id == 1
    assert entry.body == body


def test_another_patients_entry_or_unknown_id_is_404(staff_client):
    pid = load_patient(45, encounters=1)
    other = load_patient(46, encounters=1)
    allergy = Resource.objects.get(resource_type="AllergyIntolerance", patient_id=other)
    url = _edit_url(pid, "allergy", allergy)
    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url, {"text": "Hijack", "version": "1"}).status_code == 404
    allergy.refresh_from_db()
    assert allergy.version_id == 1
    for kind, resource_id in (
        ("allergy", "no-such-id"),
        ("condition", allergy.resource_id),  # the wrong kind for this id
        ("note", "anything"),
        ("note", allergy.resource_id),
        ("medication", "anything"),
    ):
        url = reverse("records_admin:edit", args=[pid, kind, resource_id])
        assert staff_client.get(url).status_code == 404, kind


def test_residents_and_anonymous_cannot_edit(staff_client, resident_client):
    pid = load_patient(47, encounters=1)
    entry = _add(staff_client, pid, "allergy", "AllergyIntolerance", {"text": "Latex"})
    url = _edit_url(pid, "allergy", entry)
    for client in (resident_client, Client()):
        assert client.get(url).status_code in (302, 403)
        response = client.post(url, {"text": "Changed", "version": "1"})
        assert response.status_code in (302, 403)
    entry.refresh_from_db()
    assert entry.version_id == 1


def test_record_page_links_to_edit(staff_client):
    pid = load_patient(48, encounters=1)
    entry = _add(staff_client, pid, "vitals", "Observation", {"weight": "70"})
    page = staff_client.get(reverse("records_admin:patient", args=[pid])).content.decode()
    allergy = Resource.objects.get(resource_type="AllergyIntolerance", patient_id=pid)
    assert _edit_url(pid, "allergy", allergy) in page
    assert _edit_url(pid, "vitals", entry) in page
    for rtype, kind in (("Condition", "condition"), ("Immunization", "immunization")):
        for row in Resource.objects.filter(resource_type=rtype, patient_id=pid)[:1]:
            assert _edit_url(pid, kind, row) in page
