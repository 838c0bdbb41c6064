"""Every public address answers without a server error, signed in or not."""

import pytest

PUBLIC = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/favicon.ico"]
SIGNED_IN = ["/me/", "/inbox/", "/accounts/profile/", "/accounts/email/", "/accounts/2fa/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_answer(client, path):
    response = client.get(path)
    assert response.status_code in (200, 301), (path, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize("path", SIGNED_IN)
def test_signed_in_pages_answer(resident_client, path):
    assert resident_client.get(path).status_code == 200


@pytest.mark.django_db
def test_favicon_points_at_a_static_file(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")


@pytest.mark.django_db
def test_unknown_address_is_a_friendly_404(client):
    client.cookies["portal_language"] = "en"
    response = client.get("/no/such/place/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
