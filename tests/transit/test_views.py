"""The public stop pages, search, nearby stops, favourites and the JSON API."""

import pytest
from bs4 import BeautifulSoup

from tests.factories import CommunityFactory, StreetFactory
from transit.models import FavouriteStop

pytestmark = pytest.mark.django_db

MONDAY_0755 = "2026-03-02T07:55"


def text(response):
    return " ".join(BeautifulSoup(response.content, "html.parser").get_text().split())


@pytest.mark.parametrize(
    "query, expected",
    [("街市", "街市"), ("Market", "Market"), ("码头", "碼頭"), ("riverside", "Riverside Station")],
)
def test_search_finds_stops_in_chinese_and_english(client, district, query, expected):
    response = client.get("/transit/", {"q": query}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    soup = BeautifulSoup(response.content, "html.parser")
    names = [a.get_text() for a in soup.select(".stop-list a")]
    assert response.status_code == 200
    if expected.isascii():
        # The English name is a translation: an English reader sees it.
        response = client.get("/transit/", {"q": query}, HTTP_ACCEPT_LANGUAGE="en")
        names = [
            a.get_text()
            for a in BeautifulSoup(response.content, "html.parser").select(".stop-list a")
        ]
    assert expected in names


def test_search_without_match_says_so(client, district):
    response = client.get("/transit/", {"q": "nowhere at all"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "No stop has that name" in text(response)


def test_nearby_stops_to_a_point_nearest_first_with_distance(client, district):
    response = client.get(
        "/transit/", {"lat": "22.2819", "lon": "114.1582"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    items = [
        li.get_text(" ", strip=True)
        for li in BeautifulSoup(response.content, "html.parser").select(
            ".transit-nearby .stop-list li"
        )
    ]
    assert items[0].startswith("Pier") and "0 m away" in items[0]
    assert any(i.startswith("Market") for i in items)


def test_nearby_stops_to_the_residents_home_community(client, district, resident):
    community = CommunityFactory(
        code="harbour-test", latitude="22.283300", longitude="114.150900", name_en="Harbourside"
    )
    resident.profile.street = StreetFactory(community=community)
    resident.profile.preferred_language = "en"
    resident.profile.save()
    client.force_login(resident)
    response = client.get("/transit/", HTTP_ACCEPT_LANGUAGE="en")
    page = text(response)
    assert "Stops near your home community, Harbourside" in page
    first = BeautifulSoup(response.content, "html.parser").select_one(
        ".transit-nearby .stop-list a"
    )
    assert first.get_text() == "Market"


def test_stop_page_shows_departures_routes_and_refresh(client, district):
    response = client.get(
        "/transit/stops/district/PIER", {"at": MONDAY_0755}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    first = soup.select_one(".departure")
    assert "08:00" in first.get_text() and "Hilltop" in first.get_text()
    assert "timetable" in first.select_one(".departure__freshness").get_text()
    assert soup.select_one("#transit-board")["data-refresh-url"].endswith(
        "partial=1&at=2026-03-02T07%3A55"
    )
    assert "Pier - Hilltop" in soup.select_one(".route-list").get_text()
    partial = client.get("/transit/stops/district/PIER", {"at": MONDAY_0755, "partial": "1"})
    assert b"<html" not in partial.content and b"departure-list" in partial.content


def test_unknown_stop_is_a_404_and_a_bad_time_a_clear_400(client, district):
    assert client.get("/transit/stops/district/NOPE").status_code == 404
    assert client.get("/transit/stops/nofeed/PIER").status_code == 404
    assert client.get("/transit/stops/district/PI%00ER").status_code == 404
    response = client.get(
        "/transit/stops/district/PIER", {"at": "yesterday\x00"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Enter a date and time like" in text(response)


def test_favourites_add_limit_and_remove(client, district, resident, settings):
    settings.TRANSIT_FAVOURITE_STOPS_LIMIT = 2
    resident.profile.preferred_language = "en"
    resident.profile.save()
    client.force_login(resident)
    for stop in ("PIER", "MKT", "PIER"):
        client.post("/transit/favourites/add/", {"feed": "district", "stop": stop})
    assert FavouriteStop.objects.filter(user=resident).count() == 2
    response = client.post(
        "/transit/favourites/add/",
        {"feed": "district", "stop": "HILL"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "You can keep up to 2 favourite stops" in text(response)
    response = client.post(
        "/transit/favourites/add/",
        {"feed": "district", "stop": "NOPE"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "That stop could not be found" in text(response)
    client.post("/transit/favourites/remove/", {"feed": "district", "stop": "PIER"})
    assert list(FavouriteStop.objects.filter(user=resident).values_list("stop_id", flat=True)) == [
        "MKT"
    ]


def test_favourites_need_sign_in_and_post(client, district):
    response = client.post("/transit/favourites/add/", {"feed": "district", "stop": "PIER"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not FavouriteStop.objects.exists()


def test_favourite_redirect_stays_on_this_site(client, district, resident):
    client.force_login(resident)
    response = client.post(
        "/transit/favourites/add/",
        {"feed": "district", "stop": "PIER", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/transit/favourites/"


@pytest.mark.parametrize("target", ["foo", "0000-00-00T25:61", "a:b", "/stops/\n"])
def test_favourite_redirect_with_a_next_that_is_no_path(client, district, resident, target):
    """Issue 10 §6 (found by the fuzz test): `next=0000-00-00T25:61` was taken for a URL
    pattern name by redirect() and ended in a 500."""
    client.force_login(resident)
    for url in ("/transit/favourites/add/", "/transit/favourites/remove/"):
        response = client.post(url, {"feed": "district", "stop": "PIER", "next": target})
        assert response.status_code == 302
        assert response["Location"] == "/transit/favourites/"


def test_favourites_survive_a_reimport(client, district, resident, import_feed):
    from .feeds import basic_feed

    resident.profile.preferred_language = "en"
    resident.profile.save()
    client.force_login(resident)
    client.post("/transit/favourites/add/", {"feed": "district", "stop": "PIER"})
    import_feed(basic_feed())
    response = client.get("/transit/favourites/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Pier" in text(response) and "no longer in the timetable" not in text(response)


# API --------------------------------------------------------------------------------------------
def test_api_departures_json_with_etag_and_cache_headers(client, district):
    url = "/transit/api/v1/departures"
    params = {"feed": "district", "stop": "PIER", "at": MONDAY_0755, "limit": "2"}
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    data = response.json()
    assert data["stop"]["name"] == "Pier"
    first = data["departures"][0]
    assert first["scheduled"] == "2026-03-02T08:00:00+08:00"
    assert first["route"]["color"] == "D32F2F" and first["headsign"] == "Hilltop"
    assert first["status"] == "timetable"
    assert len(data["departures"]) == 2
    assert response["Cache-Control"].startswith("public, max-age=")
    etag = response["ETag"]
    again = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304


@pytest.mark.parametrize(
    "params, status",
    [
        ({"stop": "PIER"}, 400),
        ({"feed": "district", "stop": "PIER", "limit": "x"}, 400),
        ({"feed": "district", "stop": "PIER", "limit": "500"}, 400),
        ({"feed": "district", "stop": "PIER", "at": "2026-13-40T99:99"}, 400),
        ({"feed": "district", "stop": "NOPE"}, 404),
        ({"feed": "district\x00", "stop": "PI\x00ER"}, 404),
    ],
)
def test_api_errors_are_json(client, district, params, status):
    response = client.get("/transit/api/v1/departures", params)
    assert response.status_code == status
    assert response.json()["error"]["status"] == status


def test_openapi_document_describes_the_endpoint(client):
    data = client.get("/transit/api/v1/openapi.json").json()
    assert data["openapi"].startswith("3.")
    operation = data["paths"]["/transit/api/v1/departures"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"feed", "stop", "at", "limit"}


def test_nul_bytes_in_ids_are_not_found_not_errors(client, district, resident):
    assert client.get("/transit/stops/district/PI%00ER").status_code == 404
    client.force_login(resident)
    for action in ("add", "remove"):
        response = client.post(
            f"/transit/favourites/{action}/", {"feed": "dis\x00trict", "stop": "PIER\x00"}
        )
        assert response.status_code == 302
    assert not FavouriteStop.objects.exists()
