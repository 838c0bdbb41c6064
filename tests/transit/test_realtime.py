"""Realtime applied to departures: delays, propagation, cancellations, skipped stops, loop
trips, staleness, garbage and broken feeds, and alerts."""

import datetime as dt
import zoneinfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from transit import realtime
from transit.departures import board
from transit.gtfs_writer import add_alert, add_trip_update, realtime_message
from transit.models import Feed, RealtimeFeedState, RealtimeTripUpdate, Stop

pytestmark = pytest.mark.django_db
HK = zoneinfo.ZoneInfo("Asia/Hong_Kong")
NOW = dt.datetime(2026, 3, 2, 7, 55, tzinfo=HK)  # a Monday


def hk(hh, mm, ss=0, day=2):
    return dt.datetime(2026, 3, day, hh, mm, ss, tzinfo=HK)


@pytest.fixture
def feed(district, tmp_path):
    feed = Feed.objects.select_related("live_version").get(code="district")
    feed.trip_updates_url = str(tmp_path / "trip-updates.pb")
    feed.alerts_url = str(tmp_path / "alerts.pb")
    feed.save()
    return feed


def publish(feed, message, kind="trip_updates", now=NOW):
    path = feed.trip_updates_url if kind == "trip_updates" else feed.alerts_url
    with open(path, "wb") as handle:
        handle.write(message if isinstance(message, bytes) else message.SerializeToString())
    return realtime.poll_feed(feed, kind, path, now=now)


def deps(feed, stop_id, now=NOW, when=None, **kwargs):
    stop = Stop.objects.get(version=feed.live_version, stop_id=stop_id)
    return board(feed, stop, at=when or now, now=now, limit=20, **kwargs)


def find(items, trip_id, seq=None):
    return next(
        d for d in items if d.trip_id == trip_id and (seq is None or d.stop_sequence == seq)
    )


def test_delay_is_shown_and_propagates_downstream(feed):
    message = realtime_message(NOW.timestamp() - 20)
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[{"stop_sequence": 1, "departure_delay": 180}],
    )
    assert publish(feed, message).startswith("1 trips")
    pier = find(deps(feed, "PIER").departures, "1-0800")
    assert (pier.status, pier.delay, pier.age) == ("live", 180, 20)
    assert pier.local_time == hk(8, 3)
    market = find(deps(feed, "MKT").departures, "1-0800")
    assert market.local_time == hk(8, 13)  # the delay carried on to the next stop
    other = find(deps(feed, "PIER").departures, "1-0830")
    assert other.status == "timetable"


def test_absolute_time_wins_over_delay(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[
            {"stop_sequence": 2, "departure_delay": 60, "departure_time": hk(8, 16).timestamp()},
        ],
    )
    publish(feed, message)
    assert find(deps(feed, "MKT").departures, "1-0800").local_time == hk(8, 16)
    # ...and the delay it implies (6 min) carries on to the hilltop.
    update = RealtimeTripUpdate.objects.get(trip_id="1-0800")
    assert realtime.predict(update, 3, hk(8, 25)).departure == hk(8, 31)


def test_skipped_stop_is_shown_as_skipped_and_delay_continues_past_it(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "2-LOOP",
        start_date="20260302",
        stops=[
            {"stop_sequence": 1, "departure_delay": 120},
            {"stop_sequence": 2, "skipped": True},
        ],
    )
    publish(feed, message)
    market = find(deps(feed, "MKT", when=hk(9, 50)).departures, "2-LOOP")
    assert market.status == "skipped"
    back = find(deps(feed, "STN", when=hk(9, 50)).departures, "2-LOOP", seq=3)
    assert (back.status, back.local_time) == ("live", hk(10, 32))


def test_no_data_stops_propagation(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "2-LOOP",
        start_date="20260302",
        stops=[
            {"stop_sequence": 1, "departure_delay": 120},
            {"stop_sequence": 2, "no_data": True},
        ],
    )
    publish(feed, message)
    back = find(deps(feed, "STN", when=hk(9, 50)).departures, "2-LOOP", seq=3)
    assert (back.status, back.local_time) == ("timetable", hk(10, 30))


def test_loop_trip_realtime_for_the_second_visit_only(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "2-LOOP",
        start_date="20260302",
        stops=[{"stop_sequence": 3, "departure_delay": 300}],
    )
    publish(feed, message)
    loop = [d for d in deps(feed, "STN", when=hk(9, 50)).departures if d.trip_id == "2-LOOP"]
    assert [(d.stop_sequence, d.status, d.local_time.strftime("%H:%M")) for d in loop] == [
        (1, "timetable", "10:00"),
        (3, "live", "10:35"),
    ]


def test_cancelled_trip_is_shown_as_cancelled(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(message, "1-0830", start_date="20260302", cancelled=True)
    publish(feed, message)
    items = deps(feed, "PIER").departures
    cancelled = find(items, "1-0830")
    assert cancelled.status == "cancelled"
    assert cancelled.local_time == hk(8, 30)


def test_stale_realtime_falls_back_to_the_timetable(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[{"stop_sequence": 1, "departure_delay": 180}],
    )
    publish(feed, message)
    later = NOW + dt.timedelta(seconds=91)
    result = deps(feed, "PIER", now=later)
    first = find(result.departures, "1-0800")
    assert (first.status, first.local_time) == ("timetable", hk(8, 0))
    assert result.live_unavailable


def test_garbage_bytes_keep_the_last_good_snapshot(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[{"stop_sequence": 1, "departure_delay": 60}],
    )
    publish(feed, message)
    result = publish(
        feed, b"\x00\xffnot a protobuf at all\x13\x37", now=NOW + dt.timedelta(seconds=5)
    )
    assert result.startswith("error")
    state = RealtimeFeedState.objects.get(feed=feed, kind="trip_updates")
    assert "GTFS-realtime" in state.last_error
    assert find(deps(feed, "PIER").departures, "1-0800").delay == 60


def test_a_feed_dated_in_the_future_is_refused(feed):
    message = realtime_message((NOW + dt.timedelta(hours=2)).timestamp())
    add_trip_update(message, "1-0800", start_date="20260302", cancelled=True)
    assert "future" in publish(feed, message)
    assert find(deps(feed, "PIER").departures, "1-0800").status == "timetable"


def test_unreachable_http_feed_is_an_error_not_an_exception(feed):
    # Nothing listens on this loopback port.
    result = realtime.poll_feed(feed, "trip_updates", "http://127.0.0.1:9/feed.pb", now=NOW)
    assert result.startswith("error")


def test_start_date_is_inferred_when_missing(feed):
    message = realtime_message(NOW.timestamp())
    add_trip_update(message, "1-0800", stops=[{"stop_id": "PIER", "departure_delay": 240}])
    publish(feed, message)
    assert find(deps(feed, "PIER").departures, "1-0800").delay == 240


def test_alerts_by_route_stop_and_agency_within_their_active_period(feed):
    message = realtime_message(NOW.timestamp())
    window = (hk(7, 0).timestamp(), hk(9, 0).timestamp())
    add_alert(
        message,
        "roadworks",
        header={"zh-Hant": "道路工程", "en": "Roadworks"},
        periods=[window],
        entities=[{"route_id": "1"}],
        effect="DETOUR",
    )
    add_alert(
        message,
        "later",
        header={"en": "Tomorrow's parade"},
        periods=[(hk(9, 0, day=3).timestamp(), None)],
        entities=[{"agency_id": "DB"}],
    )
    add_alert(message, "stop-closed", header={"en": "Stop closed"}, entities=[{"stop_id": "HILL"}])
    publish(feed, message, kind="alerts")
    alerts = deps(feed, "PIER", language="en").alerts
    assert [a.header for a in alerts] == ["Roadworks"]
    assert [a.header for a in deps(feed, "PIER", language="zh-hant").alerts] == ["道路工程"]
    later = hk(9, 30, day=3)
    message.header.timestamp = int(later.timestamp())
    publish(feed, message, kind="alerts", now=later)
    assert [a.alert_id for a in deps(feed, "PIER", now=later).alerts] == ["later"]
    assert "stop-closed" in [a.alert_id for a in deps(feed, "HILL").alerts]


def test_stale_alerts_are_not_shown_as_current(feed):
    message = realtime_message(NOW.timestamp())
    add_alert(message, "a", header={"en": "Roadworks"}, entities=[{"route_id": "1"}])
    publish(feed, message, kind="alerts")
    result = deps(feed, "PIER", now=NOW + dt.timedelta(minutes=11))
    assert result.alerts is None


def test_a_late_trip_scheduled_before_now_is_still_shown(feed):
    message = realtime_message(hk(8, 5).timestamp())
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[{"stop_sequence": 1, "departure_delay": 600}],
    )
    add_trip_update(
        message,
        "F-TEMPLATE",
        start_date="20260302",
        start_time="07:50:00",
        stops=[{"stop_sequence": 1, "departure_delay": 60}],
    )
    publish(feed, message, now=hk(8, 5))
    items = deps(feed, "PIER", now=hk(8, 5)).departures
    late = find(items, "1-0800")
    assert (late.status, late.local_time) == ("live", hk(8, 10))
    # The 07:50 shuttle reached the pier at 08:03 (a minute late): gone, not listed.
    assert all(d.scheduled >= hk(8, 5) or d.trip_id == "1-0800" for d in items)


def test_a_repeated_board_asks_only_for_the_realtime_state_and_the_timetable(feed):
    message = realtime_message(NOW.timestamp() - 20)
    add_trip_update(
        message,
        "1-0800",
        start_date="20260302",
        stops=[{"stop_sequence": 1, "departure_delay": 180}],
    )
    publish(feed, message)
    alerts = realtime_message(NOW.timestamp())
    add_alert(alerts, "roadworks", header={"en": "Roadworks"}, entities=[{"route_id": "1"}])
    publish(feed, alerts, kind="alerts")
    stop = Stop.objects.get(version=feed.live_version, stop_id="PIER")
    first = board(feed, stop, at=NOW, now=NOW, limit=20, language="zh-hant")
    with CaptureQueriesContext(connection) as queries:
        again = board(feed, stop, at=NOW, now=NOW, limit=20, language="zh-hant")
    # Both realtime states in one query, the timetable in one; stops, routes, names, the
    # snapshot's trip updates and alerts come from what this process read the first time.
    assert len(queries) == 2
    assert [(d.trip_id, d.status, d.delay, d.route_name, d.headsign) for d in again.departures] == [
        (d.trip_id, d.status, d.delay, d.route_name, d.headsign) for d in first.departures
    ]
    assert find(again.departures, "1-0800").delay == 180
    assert [a.alert_id for a in again.alerts] == ["roadworks"]


def test_a_new_snapshot_replaces_what_the_process_read_of_the_old_one(feed):
    for delay in (180, 300):
        message = realtime_message(NOW.timestamp() - 20)
        add_trip_update(
            message,
            "1-0800",
            start_date="20260302",
            stops=[{"stop_sequence": 1, "departure_delay": delay}],
        )
        publish(feed, message)
        assert find(deps(feed, "PIER").departures, "1-0800").delay == delay
    publish(feed, realtime_message(NOW.timestamp() - 10))  # no trip updates at all now
    assert find(deps(feed, "PIER").departures, "1-0800").status == "timetable"
    for header in ("Roadworks", "Detour"):
        message = realtime_message(NOW.timestamp())
        add_alert(message, "a", header={"en": header}, entities=[{"route_id": "1"}])
        publish(feed, message, kind="alerts")
        assert [a.header for a in deps(feed, "PIER", language="en").alerts] == [header]
