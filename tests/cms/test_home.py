from wagtail.models import Site

import pytest

from cms.models import HomePage

pytestmark = pytest.mark.django_db


def test_home_page_is_the_site_root():
    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)


def test_home_page_renders_in_each_language(client):
    for code, text in [
        ("en", "Welcome to the District Portal"),
        ("zh-hant", "歡迎"),
        ("zh-hans", "欢迎"),
    ]:
        client.cookies["portal_language"] = code
        response = client.get("/")
        assert response.status_code == 200
        html = response.content.decode()
        assert f'<html lang="{code}">' in html
        assert text in html


def test_unknown_page_is_a_404(client):
    assert client.get("/no-such-page/").status_code == 404
