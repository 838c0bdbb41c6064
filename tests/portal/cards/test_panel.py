"""The card panel on My page: the open application's status and next step, the card held,
or the way to apply; its query count does not grow with the resident's history."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from portal.cards import services

from .factories import OfficeFactory, collected, officer_of, submitted

pytestmark = pytest.mark.django_db


def mypage(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("mypage:index"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_panel_offers_to_apply_when_there_is_nothing(resident_client):
    _count, page = mypage(resident_client)
    assert "Social security card" in page
    assert "You have no social security card application." in page
    assert reverse("cards:apply") in page
    assert "cards/panel" in page  # the panel's declared stylesheet


def test_panel_shows_status_and_next_step(resident_client, resident):
    application = submitted(resident)
    _count, page = mypage(resident_client)
    assert application.reference in page
    assert "Submitted" in page
    assert "The office checks your photo and details." in page


def test_panel_shows_where_to_collect_a_ready_card(resident_client, resident):
    from .factories import ready

    office = OfficeFactory(name_en="Harbour Street Office")
    ready(officer_of(office), resident, office)
    _count, page = mypage(resident_client)
    assert "Ready for collection" in page
    assert "Collect your card at Harbour Street Office by" in page


def test_query_count_does_not_grow_with_the_history(resident_client, resident, settings):
    settings.MYPAGE_CACHE_PANELS = False  # every visit renders every panel
    office = OfficeFactory()
    officer = officer_of(office)
    collected(officer, resident, office)
    submitted(resident, office)
    mypage(resident_client)  # the first visit in a process also looks up the site's pages
    few, page = mypage(resident_client)
    assert "Valid" in page and "Submitted" in page
    # Many more finished applications and blocked cards.
    for _ in range(5):
        current = services.open_application(resident)
        services.withdraw(current, by=resident)
        collected(officer, resident, office)
        submitted(resident, office)
    many, _page = mypage(resident_client)
    assert many == few
