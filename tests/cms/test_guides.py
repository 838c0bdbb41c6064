"""Service guides and clinic pages show the catalogue's and the clinic's own facts."""

from django.urls import reverse

import pytest
from bs4 import BeautifulSoup

from cms.models import ClinicPage, ServiceGuidePage
from portal.cases.models import FormField
from tests.cms import factories as cms
from tests.health.booking.factories import ClinicFactory
from tests.health.booking.factories import ServiceFactory as BookingServiceFactory
from tests.portal.cases.factories import FormFieldFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def page_html(client, page):
    client.cookies["portal_language"] = "en"
    response = client.get(page.url)
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser")


def guide_for(service):
    page = ServiceGuidePage(title="Proof of address", slug=f"guide-{service.code}", service=service)
    cms.home().add_child(instance=page)
    return cms.publish(page)


def test_a_service_guide_shows_time_fee_documents_and_apply_online(client):
    service = ServiceFactory(promised_days=5, fee=120, online=True)
    FormFieldFactory(
        service=service, field_type=FormField.Type.DOCUMENT, label_en="Tenancy agreement"
    )
    html = page_html(client, guide_for(service))
    text = html.get_text(" ")
    assert "5 working days" in text and "HK$120" in text
    assert "Tenancy agreement" in text
    apply = html.find("a", string="Apply online")
    assert apply["href"] == reverse("cases:apply", args=[service.code])


def test_no_apply_button_when_online_applications_are_closed(client):
    service = ServiceFactory(online=False)
    html = page_html(client, guide_for(service))
    assert html.find("a", string="Apply online") is None
    assert "not open for online applications" in html.get_text()


def test_a_guide_whose_service_was_removed_still_renders(client):
    page = ServiceGuidePage(title="Old guide", slug="old-guide")
    cms.home().add_child(instance=page)
    assert page_html(client, cms.publish(page)).h1.get_text() == "Old guide"


def test_a_clinic_page_shows_address_hours_and_book_for_each_service(client):
    vaccination = BookingServiceFactory(name_en="Vaccination")
    clinic = ClinicFactory(services=[vaccination], address_en="1 Health Road")
    page = ClinicPage(title="Harbour clinic", slug="harbour-clinic", clinic=clinic)
    cms.home().add_child(instance=page)
    html = page_html(client, cms.publish(page))
    text = html.get_text(" ")
    assert "1 Health Road" in text and "Mon–Fri 09:00–17:00" in text
    book = html.select_one(".cms-clinic-services a")
    assert book["href"] == reverse("booking:clinic_days", args=[clinic.pk, vaccination.code])
