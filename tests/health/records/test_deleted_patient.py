"""A linked Patient that staff deleted: the resident is told and can link again."""

from django.urls import reverse

import pytest

from health.fhir.models import PatientLink
from health.records import services

from .conftest import delete_patient, english, load_patient
from .test_pages import PAGES

pytestmark = pytest.mark.django_db

GONE = "Your clinic record is no longer available."


def test_deleted_patient_shows_the_linking_page(linked_resident):
    client, user, pid = linked_resident(seed=41, encounters=2)
    english(user)
    delete_patient(pid)
    response = client.get(reverse("records:index"))
    assert response.status_code == 200
    content = response.content.decode()
    assert GONE in content
    assert reverse("records:link") in content
    for url in PAGES:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert GONE in response.content.decode(), url


def test_never_linked_resident_sees_no_gone_message(resident_client, resident):
    english(resident)
    content = resident_client.get(reverse("records:index")).content.decode()
    assert GONE not in content


def test_new_link_after_deletion_is_used(linked_resident, django_assert_num_queries):
    client, user, old_pid = linked_resident(seed=42, encounters=2)
    delete_patient(old_pid)
    PatientLink.objects.create(user=user, patient_id="no-such-patient")
    new_pid = load_patient(seed=43, encounters=2)
    PatientLink.objects.create(user=user, patient_id=new_pid)
    with django_assert_num_queries(1):
        assert services.linked_patient_id(user) == new_pid
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("records:index")).context["patient"]["id"] == new_pid
