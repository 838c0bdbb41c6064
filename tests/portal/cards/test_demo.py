"""The demo's card data (the `load_demo_data` hook): Chan Tai-man's application waiting for
the officer, Alex Wong's collected card; loading twice adds nothing. Called directly, after
the users and the office the demo makes before it, so it does not depend on other apps'
demo data."""

import io

import pytest

from portal.cards.demo import load
from portal.cards.models import ApplicationState, Card, CardApplication
from tests.factories import StaffFactory, UserFactory

from .factories import OfficeFactory

pytestmark = pytest.mark.django_db


def test_demo_card_applications(client):
    OfficeFactory(code="DSC", kind="department")
    StaffFactory(email="admin@demo.district.example", superuser=True)
    chan = UserFactory(email="chan.taiman@demo.district.example")
    UserFactory(email="alex.wong@demo.district.example")
    output = io.StringIO()
    load(output)
    assert "Cards: 2 demo card applications." in output.getvalue()
    application = CardApplication.objects.get(applicant=chan)
    assert application.state == ApplicationState.SUBMITTED and application.photo
    card = Card.objects.get(holder__email="alex.wong@demo.district.example")
    assert card.state == "active"
    client.force_login(chan)
    client.cookies["portal_language"] = "en"
    assert application.reference in client.get("/me/").content.decode()

    load(io.StringIO())
    assert CardApplication.objects.count() == 2


def test_without_the_office_the_demo_says_so():
    output = io.StringIO()
    load(output)
    assert "skipped" in output.getvalue()
    assert not CardApplication.objects.exists()
