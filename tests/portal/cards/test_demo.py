"""The demo's card data: Chan Tai-man's application waiting for the officer, Alex Wong's
collected card; loading twice adds nothing."""

import io

from django.core.management import call_command

import pytest

from portal.cards.models import ApplicationState, Card, CardApplication

pytestmark = pytest.mark.django_db


def test_demo_card_applications(settings, client):
    settings.DEBUG = True
    output = io.StringIO()
    call_command("load_demo", stdout=output)
    assert "Cards: 2 demo card applications." in output.getvalue()
    chan = CardApplication.objects.get(applicant__email="chan.taiman@demo.district.example")
    assert chan.state == ApplicationState.SUBMITTED and chan.photo
    card = Card.objects.get(holder__email="alex.wong@demo.district.example")
    assert card.state == "active"
    client.force_login(chan.applicant)
    client.cookies["portal_language"] = "en"
    assert chan.reference in client.get("/me/").content.decode()

    call_command("load_demo", stdout=io.StringIO())
    assert CardApplication.objects.count() == 2
