"""Review findings on the record pages: deleted Patients, code labels, who viewed, limits."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

import pytest

from health.fhir.access import system_requester
from health.fhir.models import PatientLink
from health.fhir.store import delete_resource
from health.records import labels, services
from tests.factories import UserFactory
from tests.health.fhir.conftest import make_clinic_staff

from .conftest import load_patient
from .test_pages import PAGES

pytestmark = pytest.mark.django_db

GONE = "Your clinic record is no longer available."


def _english(user):
    """Pages follow the account's language (zh-hant by default); these assert English."""
    user.profile.preferred_language = "en"
    user.profile.save()


def _delete_patient(pid):
    delete_resource("Patient", pid, requester=system_requester("test"))


# -- 1. a linked Patient that staff deleted ---------------------------------------------------


def test_deleted_patient_shows_the_linking_page(linked_resident):
    client, user, pid = linked_resident(seed=41, encounters=2)
    _english(user)
    _delete_patient(pid)
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
    _english(resident)
    content = resident_client.get(reverse("records:index")).content.decode()
    assert GONE not in content


def test_new_link_after_deletion_is_used(linked_resident, django_assert_num_queries):
    client, user, old_pid = linked_resident(seed=42, encounters=2)
    _delete_patient(old_pid)
    PatientLink.objects.create(user=user, patient_id="no-such-patient")
    new_pid = load_patient(seed=43, encounters=2)
    PatientLink.objects.create(user=user, patient_id=new_pid)
    with django_assert_num_queries(1):
        assert services.linked_patient_id(user) == new_pid
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("records:index")).context["patient"]["id"] == new_pid


# -- 2. FHIR codes as translated labels -------------------------------------------------------


def test_labels_are_lazy_and_fall_back_to_the_code():
    for label in (
        labels.status_label("active"),
        labels.status_label("entered-in-error"),
        labels.status_label("finished"),
        labels.criticality_label("unable-to-assess"),
        labels.resource_type_label("Observation"),
        labels.summary_section_title({"code": {"coding": [{"code": "11450-4"}]}}),
    ):
        assert isinstance(label, Promise)
    assert str(labels.status_label("active")) == "Active"
    assert str(labels.status_label("finished")) == "Finished"
    assert str(labels.criticality_label("high")) == "High risk"
    assert str(labels.resource_type_label("Patient")) == "Personal details"
    assert labels.status_label("brand-new-code") == "brand-new-code"
    assert labels.resource_type_label("Basic") == "Basic"
    assert labels.summary_section_title({"title": "Other", "code": {}}) == "Other"
    assert labels.status_label("") == ""


def test_pages_show_labels_not_codes(linked_resident):
    client, user, _pid = linked_resident(seed=44, encounters=6)
    url = reverse("records:section", args=["allergies"])
    # The default interface language (zh-hant) shows the label's translation, not the code.
    zh = client.get(url)
    assert zh.context["page"].object_list[0].status == "active"
    with translation.override("zh-hant"):
        active = str(labels.status_label("active"))
    assert active != "Active"  # a catalogue already translates it ("有效")
    assert f'<span class="tag">{active}</span>' in zh.content.decode()
    assert '<span class="tag">active</span>' not in zh.content.decode()
    _english(user)
    content = client.get(url).content.decode()
    assert '<span class="tag">Active</span>' in content
    assert '<span class="record-list__detail">Low risk</span>' in content
    assert '<span class="tag">active</span>' not in content
    visits = client.get(reverse("records:section", args=["encounters"])).content.decode()
    assert '<span class="tag">Finished</span>' in visits
    assert '<span class="tag">finished</span>' not in visits
    summary = client.get(reverse("records:summary"))
    titles = [s["title"] for s in summary.context["summary_sections"]]
    assert all(isinstance(t, Promise) for t in titles)
    assert "<h2>Problem list</h2>" in summary.content.decode()
    log = client.get(reverse("records:access-log")).content.decode()
    assert "viewed Personal details" in log
    assert "viewed Patient" not in log


# -- 3. who viewed my record ------------------------------------------------------------------


def test_who_viewed_names_nobody_by_email(linked_resident):
    client, user, pid = linked_resident(seed=45, encounters=2)
    _english(user)
    other = UserFactory(username="other.person@example.org", email="other.person@example.org")
    PatientLink.objects.create(user=other, patient_id=pid)
    other_client = Client()
    other_client.force_login(other)
    assert other_client.get(reverse("records:index")).status_code == 200
    staff = make_clinic_staff()
    staff.username = staff.email = "nurse.wong@example.org"
    staff.save()
    named_staff = make_clinic_staff()
    named_staff.profile.display_name = "Nurse Chan"
    named_staff.profile.save()
    for person in (staff, named_staff):
        staff_client = Client()
        staff_client.force_login(person)
        assert staff_client.get(f"/fhir/Patient/{pid}").status_code == 200
    client.get(reverse("records:index"))

    response = client.get(reverse("records:access-log"))
    content = response.content.decode()
    table = content[content.index("<tbody>") : content.index("</tbody>")]
    assert "@" not in table
    for address in (other.username, staff.username, named_staff.username, user.username):
        assert address not in content
    assert "You" in table
    assert "Another account linked to this record" in table
    assert "Clinic staff" in table
    assert "Nurse Chan" in table
    whos = {str(e.who) for e in response.context["page"].object_list}
    assert {"You", "Another account linked to this record", "Clinic staff", "Nurse Chan"} <= whos


def test_who_viewed_is_scoped_to_the_record_shown(linked_resident):
    client, user, old_pid = linked_resident(seed=46, encounters=2)
    client.get(reverse("records:index"))
    _delete_patient(old_pid)
    new_pid = load_patient(seed=47, encounters=2)
    PatientLink.objects.create(user=user, patient_id=new_pid)
    client.get(reverse("records:index"))
    response = client.get(reverse("records:access-log"))
    events = response.context["page"].object_list
    assert events and all(e.patient_id == new_pid for e in events)


def test_who_viewed_query_count_is_bounded(linked_resident):
    client, _user, pid = linked_resident(seed=48, encounters=2)
    counts = []
    for readers in (1, 4):
        for _ in range(readers):
            reader = UserFactory()
            PatientLink.objects.create(user=reader, patient_id=pid)
            reader_client = Client()
            reader_client.force_login(reader)
            reader_client.get(reverse("records:index"))
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("records:access-log"))
        counts.append(len(queries))
    assert counts[0] == counts[1]


# -- 4. section limits ------------------------------------------------------------------------


def test_section_says_when_it_shows_only_the_latest(linked_resident, settings):
    client, user, _pid = linked_resident(seed=49, encounters=12)
    _english(user)
    url = reverse("records:section", args=["encounters"])
    assert "Showing the latest" not in client.get(url).content.decode()
    settings.RECORDS_VISITS_LIMIT = 5
    response = client.get(url)
    assert len(response.context["page"].object_list) == 5
    assert "Showing the latest 5 entries." in response.content.decode()
    settings.RECORDS_VISITS_LIMIT = 12
    assert "Showing the latest" not in client.get(url).content.decode()


def test_section_query_counts_do_not_grow(linked_resident, settings):
    settings.RECORDS_VISITS_LIMIT = 5
    small_client, _u, _p = linked_resident(seed=50, encounters=3)
    big_client, _u2, _p2 = linked_resident(seed=51, encounters=20)
    url = reverse("records:section", args=["encounters"])
    counts = []
    for client in (small_client, big_client):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1]
