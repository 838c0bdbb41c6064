"""Favourite stops on My page, the realtime poll task, and the demo feed."""

import datetime as dt
import io

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest
from bs4 import BeautifulSoup

from transit import demo, realtime, tasks
from transit.gtfs_writer import add_alert, add_trip_update, realtime_message
from transit.models import FavouriteStop, Feed, RealtimeFeedState, ServiceException
from transit.wagtail_hooks import FavouriteStopsPanel

from .feeds import feed_around

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_feed(db, import_feed, tmp_path):
    now = timezone.now()
    builder, day = feed_around(now)
    import_feed(builder, code="district")
    feed = Feed.objects.select_related("live_version").get(code="district")
    feed.trip_updates_url = str(tmp_path / "tu.pb")
    feed.alerts_url = str(tmp_path / "alerts.pb")
    feed.save()
    message = realtime_message(now.timestamp() - 12)
    add_trip_update(
        message,
        "7-0",
        start_date=day.strftime("%Y%m%d"),
        stops=[{"stop_sequence": 1, "departure_delay": 300}],
    )
    (tmp_path / "tu.pb").write_bytes(message.SerializeToString())
    alerts = realtime_message(now.timestamp() - 12)
    add_alert(
        alerts,
        "lift",
        header={"en": "Lift out of order at Market", "zh-Hant": "街市升降機暫停"},
        entities=[{"route_id": "8"}],
    )
    (tmp_path / "alerts.pb").write_bytes(alerts.SerializeToString())
    realtime.poll_all()
    return feed


def panel_html(user):
    request = RequestFactory().get("/me/")
    request.user = user
    return FavouriteStopsPanel().render(request)


def test_panel_shows_favourites_with_live_departures_and_route_alerts(live_feed, resident):
    resident.profile.preferred_language = "en"
    resident.profile.save()
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="A")
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="B")
    from django.utils import translation

    with translation.override("en"):
        soup = BeautifulSoup(panel_html(resident), "html.parser")
    favourites = soup.select(".favourite")
    assert [f.select_one(".favourite__title").get_text(strip=True) for f in favourites] == [
        "Harbourfront",
        "Market",
    ]
    first = favourites[0].select_one(".departure")
    assert "5 min late" in first.get_text()
    assert "live, updated" in first.select_one(".departure__freshness").get_text()
    # Route 8 serves Market only: its alert is on Market's board, not on Harbourfront's.
    assert "Lift out of order" in favourites[1].get_text()
    assert "Lift out of order" not in favourites[0].get_text()


def test_panel_queries_do_not_grow_with_favourites(live_feed, resident):
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="A")
    panel_html(resident)  # warm the per-version caches (services, routes at stops)
    with CaptureQueriesContext(connection) as one:
        panel_html(resident)
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="B")
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="C")
    panel_html(resident)
    with CaptureQueriesContext(connection) as three:
        panel_html(resident)
    assert len(three) == len(one)


def test_panel_falls_back_to_timetable_when_realtime_is_stale(live_feed, resident):
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="A")
    RealtimeFeedState.objects.filter(feed=live_feed).update(
        snapshot_time=timezone.now() - dt.timedelta(minutes=20)
    )
    from django.utils import translation

    with translation.override("en"):
        soup = BeautifulSoup(panel_html(resident), "html.parser")
    assert "Live times are unavailable right now" in soup.get_text()
    assert soup.select_one(".departure__freshness").get_text(strip=True) == "timetable"
    assert "Service alerts are unavailable right now" in soup.get_text()


def test_mypage_renders_the_panel(client, live_feed, resident):
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="A")
    client.force_login(resident)
    response = client.get("/me/")
    assert response.status_code == 200
    assert b"favourite__title" in response.content


def test_poll_task_skips_while_another_poll_runs(live_feed):
    from django.core.cache import cache

    cache.add(tasks.LOCK_KEY, 1, 60)
    assert tasks.poll_realtime() == {}
    cache.delete(tasks.LOCK_KEY)
    result = tasks.poll_realtime()
    assert (
        result["district:trip_updates"] in ("not modified",)
        or "trips" in result["district:trip_updates"]
    )


def test_demo_feed_shape_and_its_realtime(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    demo.load_demo(out)
    assert "Transit: feed 'district'" in out.getvalue()
    feed = Feed.objects.select_related("live_version").get(code="district")
    version = feed.live_version
    assert version.has_frequencies
    assert ServiceException.objects.filter(version=version, exception_type=2).exists()
    assert version.stop_set.filter(name="街市").exists()  # a two-character name
    assert demo.is_demo_feed(feed)
    state = RealtimeFeedState.objects.get(feed=feed, kind="trip_updates")
    assert state.last_error == ""
    # The demo's producer runs before each poll in the embedded run.
    settings.TRANSIT_DEMO_PRODUCER = True
    assert "district:alerts" in tasks.poll_realtime()


def test_mypage_keeps_the_empty_panel_and_renders_departures_on_every_visit(
    client, live_feed, resident
):
    """Without favourites the panel is cached with the page; a favourite added or removed
    shows on the next visit; with favourites the departures are rendered on every visit
    (never stored), so a realtime snapshot that went stale shows at once."""
    from transit import services

    client.cookies["portal_language"] = "en"
    client.force_login(resident)

    def visit():
        with CaptureQueriesContext(connection) as captured:
            html = client.get("/me/").content.decode()
        sql = " ".join(q["sql"] for q in captured.captured_queries)
        return BeautifulSoup(html, "html.parser").select_one("#panel-transit"), sql

    visit()
    panel, sql = visit()
    assert "You have no favourite stops yet." in panel.get_text()
    assert "transit_favouritestop" not in sql  # the empty state came from the cache
    services.add_favourite(resident, "district", "A")
    panel, sql = visit()
    assert panel.select_one(".favourite__title").get_text(strip=True) == "Harbourfront"
    assert "live, updated" in panel.get_text()
    panel, sql = visit()
    assert "transit_favouritestop" in sql  # read again: departures are live
    RealtimeFeedState.objects.filter(feed=live_feed).update(
        snapshot_time=timezone.now() - dt.timedelta(minutes=20)
    )
    panel, sql = visit()
    assert "Live times are unavailable right now" in panel.get_text()
    services.remove_favourite(resident, "district", "A")
    panel, sql = visit()
    assert "You have no favourite stops yet." in panel.get_text()
