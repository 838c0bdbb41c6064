"""A resident adds a favourite stop and follows its departures on My page: live with a delay
and its freshness from the realtime file, then the timetable once the file is stale."""

import time

from django.utils import timezone

import pytest

from tests.factories import UserFactory
from transit import realtime
from transit.gtfs_writer import add_trip_update, realtime_message
from transit.models import Feed

from .feeds import feed_around

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_favourite_stop_live_then_timetable_when_stale(page, import_feed, tmp_path):
    now = timezone.now()
    builder, day = feed_around(now)
    import_feed(builder, code="district")
    feed = Feed.objects.get(code="district")
    feed.trip_updates_url = str(tmp_path / "trip-updates.pb")
    feed.save()
    resident = UserFactory()
    resident.profile.preferred_language = "en"
    resident.profile.save()

    page.sign_in(resident)
    page.visit("/transit/")
    page.fill("#stop-query", "harbour")
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_selector(".stop-list a")
    page.check_accessibility()
    page.click(".stop-list a >> text=Harbourfront")
    page.wait_for_selector("#transit-board")
    page.check_accessibility()
    page.assert_fits()
    page.click("text=Add to favourites")
    page.wait_for_selector("text=Harbourfront is one of your favourite stops.")

    # The producer publishes: the first trip from Harbourfront is 5 minutes late. The file is
    # 75 seconds old when it is read; GTFS-realtime best practice calls it stale after 90.
    written = time.time() - 75
    message = realtime_message(written)
    add_trip_update(
        message,
        "7-0",
        start_date=day.strftime("%Y%m%d"),
        stops=[{"stop_sequence": 1, "departure_delay": 300}],
    )
    (tmp_path / "trip-updates.pb").write_bytes(message.SerializeToString())
    realtime.poll_all()

    page.visit("/me/")
    panel = page.locator("#panel-transit")
    first = panel.locator(".departure").first
    assert "Harbourfront" in panel.inner_text()
    assert "5 min late" in first.inner_text()
    assert "live, updated" in first.locator(".departure__freshness").inner_text()
    page.assert_fits()

    # Nothing new arrives; the poller finds the file unchanged, and the snapshot ages.
    time.sleep(max(0, written + 92 - time.time()))
    realtime.poll_all()
    page.reload()
    page.check_accessibility()
    first = page.locator("#panel-transit .departure").first
    assert first.locator(".departure__freshness").inner_text() == "timetable"
    assert "min late" not in first.inner_text()
    assert "Live times are unavailable right now" in page.locator("#panel-transit").inner_text()
