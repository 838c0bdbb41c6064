"""Next departures from the timetable: service days, exceptions, times past 24:00,
frequencies, time zones and daylight saving."""

import datetime as dt
import zoneinfo

import pytest

from transit.departures import board
from transit.gtfs_writer import FeedBuilder
from transit.models import Feed, Stop

pytestmark = pytest.mark.django_db
HK = zoneinfo.ZoneInfo("Asia/Hong_Kong")


def at(y, m, d, hh, mm, tz=HK):
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def departures(stop_id, when, code="district", **kwargs):
    feed = Feed.objects.select_related("live_version").get(code=code)
    stop = Stop.objects.get(version=feed.live_version, stop_id=stop_id)
    return board(feed, stop, at=when, now=when, **kwargs).departures


def listed(items, tz=HK):
    return [(d.trip_id, d.local_time.astimezone(tz).strftime("%m-%d %H:%M")) for d in items]


def test_weekday_departures_in_order_with_route_and_headsign(district):
    items = departures("PIER", at(2026, 3, 2, 7, 55), language="zh-hant")
    items = [d for d in items if d.route_name == "1"]
    assert listed(items)[:2] == [("1-0800", "03-02 08:00"), ("1-0830", "03-02 08:30")]
    first = items[0]
    assert (first.route_name, first.headsign, first.route.color) == ("1", "山頂", "D32F2F")
    assert first.wheelchair_accessible is True
    assert first.status == "timetable"


def test_translations_in_the_readers_language(district):
    first = departures("PIER", at(2026, 3, 2, 7, 55), language="en")[0]
    assert first.headsign == "Hilltop"  # translated by field_value
    assert first.route_long_name == "Pier - Hilltop"  # translated by record_id


def test_holiday_removes_the_weekday_service_and_adds_the_weekend_one(district):
    items = listed(departures("PIER", at(2026, 4, 6, 7, 55)))
    assert ("1-0800", "04-06 08:00") not in items
    assert ("1-WE-0900", "04-06 09:00") in items


def test_added_service_day_runs_the_weekday_trips_on_a_saturday(district):
    items = listed(departures("PIER", at(2026, 3, 7, 7, 55)))
    assert ("1-0800", "03-07 08:00") in items
    assert ("1-WE-0900", "03-07 09:00") in items
    # ...and an ordinary Saturday has only the weekend trip.
    plain = listed(departures("PIER", at(2026, 3, 14, 7, 55)))
    assert ("1-0800", "03-14 08:00") not in plain


def test_trip_at_25_10_is_shown_after_midnight_on_the_next_calendar_day(district):
    # Tuesday 01:00: the Monday service's 25:10 trip leaves at 01:10.
    items = listed(departures("PIER", at(2026, 3, 3, 1, 0)))
    assert items[0] == ("N1-2510", "03-03 01:10")
    # Saturday 01:00: Friday's service runs it too; Sunday 01:00: Saturday's does not...
    assert listed(departures("PIER", at(2026, 3, 14, 1, 0)))[0] == ("N1-2510", "03-14 01:10")
    assert "N1-2510" not in [t for t, _ in listed(departures("PIER", at(2026, 3, 15, 1, 0)))]
    # ...except after the Saturday with an added weekday service.
    assert listed(departures("PIER", at(2026, 3, 8, 1, 0)))[0] == ("N1-2510", "03-08 01:10")


def test_exact_frequencies_are_expanded_into_departures(district):
    items = [d for d in departures("STN", at(2026, 3, 2, 7, 5), limit=20) if d.route_name == "F"]
    assert [d.local_time.strftime("%H:%M") for d in items] == [
        "07:10",
        "07:20",
        "07:30",
        "07:40",
        "07:50",
    ]
    assert not any(d.approximate for d in items)
    assert items[0].platform == "B"


def test_inexact_frequencies_are_expanded_and_marked_approximate(district):
    items = [d for d in departures("STN", at(2026, 3, 2, 15, 55), limit=20) if d.route_name == "F"]
    assert [d.local_time.strftime("%H:%M") for d in items] == ["16:00", "16:15", "16:30", "16:45"]
    assert all(d.approximate and d.headway_minutes == 15 for d in items)


def test_frequency_offsets_apply_downstream(district):
    items = [d for d in departures("PIER", at(2026, 3, 2, 7, 0), limit=30) if d.route_name == "F"]
    assert [d.local_time.strftime("%H:%M") for d in items][:2] == ["07:12", "07:22"]


def test_station_board_lists_its_platforms(district):
    items = departures("STN", at(2026, 3, 2, 9, 55), limit=20)
    loop = [d for d in items if d.trip_id == "2-LOOP"]
    # The loop calls at platform A twice: 10:00 and 10:30 are both departures.
    assert [d.local_time.strftime("%H:%M") for d in loop] == ["10:00", "10:30"]
    assert {d.platform for d in loop} == {"A"}


def test_stop_served_by_two_agencies_in_different_time_zones(import_feed):
    f = FeedBuilder()
    f.add(
        "agency.txt",
        agency_id="HK",
        agency_name="Harbour Bus",
        agency_url="https://a.example",
        agency_timezone="Asia/Hong_Kong",
    )
    f.add(
        "agency.txt",
        agency_id="JP",
        agency_name="Tokyo Ferry",
        agency_url="https://b.example",
        agency_timezone="Asia/Tokyo",
    )
    f.add("stops.txt", stop_id="X", stop_name="Interchange", stop_lat=22.3, stop_lon=114.2)
    f.add("stops.txt", stop_id="Y", stop_name="Elsewhere", stop_lat=22.31, stop_lon=114.21)
    f.add("routes.txt", route_id="H", agency_id="HK", route_short_name="H", route_type=3)
    f.add("routes.txt", route_id="J", agency_id="JP", route_short_name="J", route_type=4)
    f.service("ALL", "1111111", "20260101", "20261231")
    f.add_trip("H8", route_id="H", service_id="ALL", stops=[("X", "08:00:00"), ("Y", "08:10:00")])
    f.add_trip("J8", route_id="J", service_id="ALL", stops=[("X", "08:00:00"), ("Y", "08:10:00")])
    import_feed(f, code="two-zones")
    # 08:00 in Tokyo is 07:00 in Hong Kong: the ferry leaves first.
    items = listed(departures("X", at(2026, 3, 2, 6, 50), code="two-zones"))
    assert items[:2] == [("J8", "03-02 07:00"), ("H8", "03-02 08:00")]


def test_daylight_saving_day_times_count_from_noon_minus_12_hours(import_feed):
    ny = zoneinfo.ZoneInfo("America/New_York")
    f = FeedBuilder()
    f.add(
        "agency.txt",
        agency_name="Metro",
        agency_url="https://m.example",
        agency_timezone="America/New_York",
    )
    f.add("stops.txt", stop_id="A", stop_name="Alpha", stop_lat=40.7, stop_lon=-74.0)
    f.add("stops.txt", stop_id="B", stop_name="Beta", stop_lat=40.71, stop_lon=-74.01)
    f.add("routes.txt", route_id="M", route_short_name="M", route_type=1)
    f.service("D", "1111111", "20260101", "20261231")
    f.add_trip("M08", route_id="M", service_id="D", stops=[("A", "08:00:00"), ("B", "08:30:00")])
    f.add_trip("M25", route_id="M", service_id="D", stops=[("A", "25:00:00"), ("B", "25:30:00")])
    import_feed(f, code="metro")
    # 8 March 2026: clocks go forward at 02:00. 08:00:00 is still 08:00 on the wall clock.
    items = departures("A", dt.datetime(2026, 3, 8, 7, 0, tzinfo=ny), code="metro")
    assert listed(items, ny)[0] == ("M08", "03-08 08:00")
    # 1 November 2026: clocks go back; 25:00:00 of the Saturday service is 01:00 EDT on Sunday.
    items = departures("A", dt.datetime(2026, 11, 1, 0, 30, tzinfo=ny), code="metro")
    first = items[0]
    assert first.trip_id == "M25"
    assert first.when == dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("names", "expected"),
    [(["10", "2", "N1"], ["N1", "2", "10"]), (["²", "3", "٢"], ["٢", "3", "²"])],
)
def test_route_names_sort_as_riders_expect_whatever_their_digits(names, expected):
    # Numbers by value ("2" before "10"); "²" is a digit to str.isdigit() but not to int(), so
    # it sorts as a name without a number rather than stopping the stop page.
    from transit.departures import _natural

    assert sorted(names, key=_natural) == expected
