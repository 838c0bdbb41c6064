import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from health.fhir.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    reverse("records:index"),
    reverse("records:results"),
    reverse("records:summary"),
    reverse("records:access-log"),
    reverse("records:download"),
    *[
        reverse("records:section", args=[s])
        for s in (
            "allergies",
            "conditions",
            "medications",
            "immunizations",
            "encounters",
            "documents",
        )
    ],
]


def test_record_pages_render(linked_resident):
    client, _user, pid = linked_resident(seed=21, encounters=12)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    index = client.get(reverse("records:index")).content.decode()
    assert "Allergy to peanuts" in index
    results = client.get(reverse("records:results")).content.decode()
    assert "<svg" in results and "polyline" in results
    assert 'role="img"' in results and "<table>" in results
    assert "chart__line--2" in results  # blood pressure draws systolic and diastolic


def test_download_is_the_whole_record(linked_resident):
    client, _user, pid = linked_resident(seed=22, encounters=5)
    response = client.get(reverse("records:download"))
    assert response["Content-Disposition"].startswith("attachment")
    bundle = json.loads(response.content)
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class("Bundle").model_validate(bundle)
    assert bundle["entry"][0]["resource"]["id"] == pid
    assert AuditEvent.objects.filter(patient_id=pid, action="export").exists()


def test_resident_a_cannot_reach_b(linked_resident):
    client_a, user_a, pid_a = linked_resident(seed=23, encounters=3)
    client_b, user_b, pid_b = linked_resident(seed=24, encounters=3)
    b_family = None
    from health.fhir.models import Resource

    b_body = json.loads(Resource.objects.get(resource_type="Patient", resource_id=pid_b).body)
    b_family = b_body["name"][0]["family"] + " " + b_body["identifier"][0]["value"]
    client_b.get(reverse("records:index"))  # B's own view leaves audit rows for B
    for url in PAGES:
        content = client_a.get(url).content.decode()
        assert pid_b not in content, url
        assert b_body["identifier"][0]["value"] not in content, url
    assert b_family
    # The access log lists only A's patient's events.
    log = client_a.get(reverse("records:access-log"))
    assert all(e.patient_id == pid_a for e in log.context["page"].object_list)
    # The FHIR API as resident A.
    for url in (
        f"/fhir/Patient/{pid_b}",
        f"/fhir/Patient/{pid_b}/$everything",
        f"/fhir/Patient/{pid_b}/$summary",
    ):
        assert client_a.get(url).status_code == 404


def test_unlinked_resident(resident_client):
    response = resident_client.get(reverse("records:index"))
    assert response.status_code == 200
    assert reverse("records:link") in response.content.decode()
    for url in PAGES[1:]:
        assert resident_client.get(url).status_code == 302


def test_pages_need_login():
    for url in PAGES:
        response = Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_who_viewed_shows_staff_reads(linked_resident, staff):
    client, user, pid = linked_resident(seed=25, encounters=2)
    staff_client = Client()
    staff_client.force_login(staff)
    assert (
        staff_client.get(f"/fhir/Patient/{pid}", HTTP_ACCEPT="application/fhir+json").status_code
        == 200
    )
    log = client.get(reverse("records:access-log")).content.decode()
    assert staff.username not in log  # staff are named by role, not by account name
    assert "Clinic staff" in log or "診所職員" in log


def test_page_query_counts_do_not_grow(linked_resident):
    small_client, _u, _p = linked_resident(seed=26, encounters=3)
    big_client, _u2, _p2 = linked_resident(seed=27, encounters=40)
    warm_client, _u3, _p3 = linked_resident(seed=25, encounters=1)
    for name in ("records:index", "records:results", "mypage:index"):
        # The first request of a page fills per-process caches (the site menu's pages):
        # warm them with a third resident (My page caches each resident's own panels), so
        # the two counts differ only by what the record's size costs.
        warm_client.get(reverse(name))
        counts = []
        for client in (small_client, big_client):
            with CaptureQueriesContext(connection) as queries:
                client.get(reverse(name))
            counts.append(len(queries))
        assert counts[0] == counts[1], name


def test_mypage_panel(linked_resident):
    client, _user, _pid = linked_resident(seed=28, encounters=6)
    response = client.get(reverse("mypage:index"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Allergy to peanuts" in content
    unlinked = Client()
    unlinked.force_login(UserFactory())
    assert reverse("records:link") in unlinked.get(reverse("mypage:index")).content.decode()


def test_charts_show_the_latest_readings(linked_resident, settings):
    settings.RECORDS_CHART_POINTS = 5
    client, _user, pid = linked_resident(seed=29, encounters=12)
    from health.fhir.models import DateIndex, Resource, TokenIndex

    weights = Resource.objects.filter(
        pk__in=TokenIndex.objects.filter(param="code", code="29463-7").values("resource_id"),
        patient_id=pid,
    )
    newest = DateIndex.objects.filter(resource__in=weights, param="date").order_by("-start")[0]
    response = client.get(reverse("records:results"))
    weight_chart = next(c for c in response.context["charts"] if c.slug == "weight")
    assert len(weight_chart.rows) == 5
    assert weight_chart.rows[-1][0] == newest.start
