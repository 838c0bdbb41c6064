"""The record's documents open (issue 12): viewable or downloadable with a proper name and
type, by the resident and their clinic only."""

import base64

from django.test import Client
from django.urls import reverse

import pytest

from health.fhir.access import system_requester
from health.fhir.store import create_resource
from tests.factories import UserFactory
from tests.health.fhir.conftest import make_clinic_staff

from .conftest import english

pytestmark = pytest.mark.django_db

LETTER = "Dear Mr Chan,\nyour review went well.\n陳大文"


def add_document(patient_id, content_type="text/plain; charset=utf-8", data=None):
    data = LETTER.encode() if data is None else data
    body = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": "2026-11-20T10:00:00+08:00",
        "description": "Chronic disease review",
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "title": "Chronic disease review",
                    "data": base64.b64encode(data).decode(),
                }
            }
        ],
    }
    return create_resource(
        "DocumentReference", body, requester=system_requester("test")
    ).resource.resource_id


def test_the_resident_opens_and_downloads_a_document(linked_resident):
    client, user, pid = linked_resident(seed=60, encounters=1)
    english(user)
    doc_id = add_document(pid)
    page = client.get(reverse("records:section", args=["documents"])).content.decode()
    url = reverse("records:document", args=[doc_id])
    assert f'href="{url}"' in page
    assert "Text document" in page
    assert "text/plain; charset=utf-8" not in page

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="Chronic disease review.txt"'
    assert response.content.decode() == LETTER
    assert "no-store" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]
    download = client.get(url + "?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="Chronic disease review.txt"'


def test_a_type_a_browser_should_not_show_is_only_downloaded(linked_resident):
    client, _user, pid = linked_resident(seed=61, encounters=1)
    doc_id = add_document(pid, "text/html", b"<script>alert(1)</script>")
    response = client.get(reverse("records:document", args=[doc_id]))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Disposition"].endswith('.html"')
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_resident_gets_a_404(linked_resident):
    _client, _user, pid = linked_resident(seed=62, encounters=1)
    doc_id = add_document(pid)
    stranger_client, _stranger, _other = linked_resident(seed=63, encounters=1)
    assert stranger_client.get(reverse("records:document", args=[doc_id])).status_code == 404
    unlinked = Client()
    unlinked.force_login(UserFactory())
    assert unlinked.get(reverse("records:document", args=[doc_id])).status_code == 302


def test_clinic_staff_open_it_from_the_patient_page(linked_resident):
    _client, _user, pid = linked_resident(seed=64, encounters=1)
    doc_id = add_document(pid)
    staff = Client()
    staff.force_login(make_clinic_staff())
    page = staff.get(reverse("records_admin:patient", args=[pid])).content.decode()
    url = reverse("records_admin:document", args=[pid, doc_id])
    assert f'href="{url}"' in page
    response = staff.get(url)
    assert response.status_code == 200
    assert response.content.decode() == LETTER


def test_unknown_or_tampered_ids_are_404(linked_resident):
    client, _user, _pid = linked_resident(seed=65, encounters=1)
    for bad in ("nope", "x" * 200, "%00"):
        assert client.get(f"/health/documents/{bad}/").status_code == 404
