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
