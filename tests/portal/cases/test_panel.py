"""The cases panel on My page: open cases with status, due date and next step; recent results;
its query count does not grow with the number of cases."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.cases import services
from portal.cases.models import CaseState

from .factories import CaseFactory, ServiceFactory, StatusTextFactory

pytestmark = pytest.mark.django_db


def give_cases(resident, count):
    for index in range(count):
        service = ServiceFactory()
        StatusTextFactory(service=service, status="received", label_en=f"With the clerk {index}")
        case = CaseFactory(applicant=resident, service=service, received_on=timezone.localdate())
        services.refresh_due_date(case)
    CaseFactory(applicant=resident, state=CaseState.APPROVED)
    CaseFactory(applicant=resident, state=CaseState.DRAFT, reference=None)


def mypage_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("mypage:index"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_panel_shows_status_due_date_and_next_step(resident_client, resident):
    give_cases(resident, 2)
    _count, page = mypage_queries(resident_client)
    assert "My applications" in page
    assert "With the clerk 0" in page  # the service's own wording of "Received"
    assert "The office will check your application" in page  # what happens next
    assert "Due" in page and "Recent results" in page and "1 unsent draft" in page


def test_query_count_does_not_grow_with_the_number_of_cases(resident_client, resident, settings):
    settings.MYPAGE_CACHE_PANELS = False  # every visit renders every panel
    give_cases(resident, 1)
    mypage_queries(resident_client)  # the first visit in a process also looks up the site's pages
    few, _page = mypage_queries(resident_client)
    give_cases(resident, 19)
    many, _page = mypage_queries(resident_client)
    assert many == few
