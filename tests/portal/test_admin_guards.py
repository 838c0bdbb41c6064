"""Tampered requests to Wagtail's admin answer 400/404, not 500 (issue 10 §6; found by the
fuzz test, tests/portal/test_fuzz_urls.py)."""

from django.test import Client

from wagtail.models import Page, Site

import pytest

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def home_page():
    """The default site's home page (there is one per language at depth 2)."""
    return Site.objects.get(is_default_site=True).root_page


@pytest.fixture
def admin_client(db):
    client = Client(raise_request_exception=False)
    client.force_login(StaffFactory(superuser=True, mfa=True))
    client.cookies["portal_language"] = "en"
    return client


def test_page_editor_posted_without_its_streamfield_counts(admin_client):
    home = home_page()
    response = admin_client.post(f"/admin/pages/{home.pk}/edit/", {"title": "Home"})
    assert response.status_code == 400
    assert Page.objects.get(pk=home.pk).title == home.title


def test_page_editor_posted_as_json(admin_client):
    home = home_page()
    response = admin_client.post(
        f"/admin/pages/{home.pk}/edit/", '{"x": [', content_type="application/json"
    )
    assert response.status_code == 400


def test_moving_the_root_page_is_not_found(admin_client):
    assert admin_client.post("/admin/pages/1/set_position/?position=0").status_code == 404
    home = home_page()
    response = admin_client.post(f"/admin/pages/{home.pk}/set_position/?position=0")
    assert response.status_code == 200  # a real page still moves


def test_external_link_chooser_without_a_url(admin_client):
    response = admin_client.post(
        "/admin/choose-external-link/", {"external-link-chooser-link_text": "x"}
    )
    assert response.status_code == 400
    response = admin_client.post(
        "/admin/choose-external-link/", {"external-link-chooser-url": "https://example.org"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("target", ["foo", "<script>alert(1)</script>", "a:b"])
def test_a_next_that_is_no_path_is_ignored(admin_client, target):
    from tests.factories import CommunityFactory

    community = CommunityFactory()
    response = admin_client.post(
        f"/admin/snippets/accounts/community/delete/{community.pk}/", {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/")
    child = home_page().add_child(instance=Page(title="Old news", slug="old-news"))
    response = admin_client.post(f"/admin/pages/{child.pk}/delete/", {"next": target})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/")
    assert not Page.objects.filter(pk=child.pk).exists()


def test_a_chooser_without_a_creation_form_has_no_create_route(admin_client):
    # Streets are chosen, not created, in the chooser: Wagtail still routes "create" and
    # crashed on the missing form when something posted to it.
    response = admin_client.post(
        "/admin/snippets/choose/accounts/street/create/", {"name": "x", "community": "a"}
    )
    assert response.status_code == 404


def test_a_media_name_the_file_system_refuses_is_not_found(rf):
    # With DEBUG on (the embedded run) the portal serves uploads through this view; a name too
    # long for the file system was an OSError, a 500.
    from django.http import Http404

    from portal.security import serve_media

    with pytest.raises(Http404):
        serve_media(rf.get("/media/x"), "x" * 5000)


@pytest.mark.parametrize("method", ["post", "delete"])
def test_deleting_a_clinic_that_still_has_slots_is_refused_with_a_message(admin_client, method):
    # The booking on the clinic's slot keeps it (PROTECT); Wagtail's reference index does not
    # know that, so its delete view tried and the ProtectedError was a 500 (found by CI's fuzz).
    from health.booking.models import Clinic, Slot
    from tests.health.booking.factories import (
        AppointmentFactory,
        ClinicFactory,
        ServiceFactory,
        SlotFactory,
    )

    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    AppointmentFactory(slot=SlotFactory(clinic=clinic, service=service))
    edit_page = f"/admin/booking_clinics/edit/{clinic.pk}/"
    response = getattr(admin_client, method)(
        f"/admin/booking_clinics/delete/{clinic.pk}/", HTTP_REFERER=f"http://testserver{edit_page}"
    )
    assert response.status_code == 302
    assert response["Location"] == edit_page
    assert Clinic.objects.filter(pk=clinic.pk).exists()
    assert Slot.objects.filter(clinic=clinic).count() == 1
    page = admin_client.get(edit_page).content.decode()
    assert "This cannot be deleted while other records still refer to it" in page
    assert "(Appointments: 1)" in page  # the slot would go with the clinic; its booking not


@pytest.mark.parametrize(
    "url",
    [
        "/admin/images/chooser/chosen/1k/",
        "/admin/documents/chooser/chosen/%00/",
        "/admin/images/chooser/chosen-multiple/?id=1&id=1k",
        "/admin/snippets/choose/accounts/street/chosen/99999999999999999999999/",
    ],
)
def test_a_chooser_asked_for_an_id_that_is_no_key_is_not_found(admin_client, url):
    # Wagtail routes any string as the chosen object's id; "1k" for an integer key raised
    # ValueError in the lookup, a 500 (found by CI's fuzz run).
    assert admin_client.get(url).status_code == 404


def test_a_chooser_still_returns_a_chosen_street(admin_client):
    from tests.factories import StreetFactory

    street = StreetFactory()
    response = admin_client.get(f"/admin/snippets/choose/accounts/street/chosen/{street.pk}/")
    assert response.status_code == 200
    assert str(street.pk) in response.content.decode()
