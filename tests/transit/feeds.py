"""Fixture feeds for the transit tests, built in code (transit.gtfs_writer.FeedBuilder).

`basic_feed()` is a small feed a rider would recognise: one agency in Hong Kong, a bus route
with weekday and weekend services, a public-holiday removal and an added day, a trip past
midnight, a frequency route (exact and inexact), a loop trip, translations and a station with
two platforms. Tests add to it or break it as they need.
"""

from transit.gtfs_writer import FeedBuilder

HK = "Asia/Hong_Kong"
# A Monday; the feed runs the whole of 2026.
MONDAY = "20260302"
HOLIDAY = "20260406"  # Easter Monday: weekday service removed
ADDED_DAY = "20260307"  # a Saturday with an extra weekday service


def basic_feed(timezone=HK):
    f = FeedBuilder()
    f.add(
        "agency.txt",
        agency_id="DB",
        agency_name="District Bus",
        agency_url="https://bus.example",
        agency_timezone=timezone,
        agency_lang="zh-Hant",
    )
    f.add(
        "feed_info.txt",
        feed_publisher_name="District",
        feed_publisher_url="https://bus.example",
        feed_lang="zh-Hant",
        feed_version="2026-03",
    )
    stops = [
        ("PIER", "碼頭", 22.2819, 114.1582, "", ""),
        ("MKT", "街市", 22.2833, 114.1509, "", ""),
        ("HILL", "山頂", 22.2876, 114.1411, "", ""),
        ("STN", "河畔站", 22.2765, 114.1728, "", "1"),
        ("STN-A", "河畔站 A", 22.2765, 114.1728, "STN", ""),
        ("STN-B", "河畔站 B", 22.2766, 114.1729, "STN", ""),
    ]
    for stop_id, name, lat, lon, parent, location_type in stops:
        row = f.add(
            "stops.txt",
            stop_id=stop_id,
            stop_name=name,
            stop_lat=lat,
            stop_lon=lon,
            parent_station=parent,
            location_type=location_type,
        )
        if parent:
            row["platform_code"] = stop_id[-1]
            row["wheelchair_boarding"] = 1
    for stop_id, en in (
        ("PIER", "Pier"),
        ("MKT", "Market"),
        ("HILL", "Hilltop"),
        ("STN", "Riverside Station"),
    ):
        f.translate("stops", "stop_name", {"en": en}, record_id=stop_id)
    f.add(
        "routes.txt",
        route_id="1",
        agency_id="DB",
        route_short_name="1",
        route_long_name="碼頭 - 山頂",
        route_type=3,
        route_color="D32F2F",
        route_text_color="FFFFFF",
    )
    f.add(
        "routes.txt",
        route_id="2",
        agency_id="DB",
        route_short_name="2",
        route_long_name="河畔循環線",
        route_type=3,
        route_color="1565C0",
    )
    f.add(
        "routes.txt",
        route_id="N1",
        agency_id="DB",
        route_short_name="N1",
        route_long_name="通宵線",
        route_type=3,
    )
    f.add(
        "routes.txt",
        route_id="F",
        agency_id="DB",
        route_short_name="F",
        route_long_name="渡輪接駁",
        route_type=3,
    )
    f.translate("routes", "route_long_name", {"en": "Pier - Hilltop"}, record_id="1")
    f.service("WK", "1111100", "20260101", "20261231")
    f.service("WE", "0000011", "20260101", "20261231")
    f.add("calendar_dates.txt", service_id="WK", date=HOLIDAY, exception_type=2)
    f.add("calendar_dates.txt", service_id="WE", date=HOLIDAY, exception_type=1)
    f.add("calendar_dates.txt", service_id="WK", date=ADDED_DAY, exception_type=1)
    f.add_trip(
        "1-0800",
        route_id="1",
        service_id="WK",
        trip_headsign="山頂",
        wheelchair_accessible=1,
        stops=[("PIER", "08:00:00"), ("MKT", "08:10:00"), ("HILL", "08:25:00")],
    )
    f.translate("trips", "trip_headsign", {"en": "Hilltop"}, field_value="山頂")
    f.add_trip(
        "1-0830",
        route_id="1",
        service_id="WK",
        trip_headsign="山頂",
        stops=[("PIER", "08:30:00"), ("MKT", "08:40:00"), ("HILL", "08:55:00")],
    )
    f.add_trip(
        "1-WE-0900",
        route_id="1",
        service_id="WE",
        trip_headsign="山頂",
        stops=[("PIER", "09:00:00"), ("MKT", "09:10:00"), ("HILL", "09:25:00")],
    )
    # The night route leaves the pier at 25:10 of the weekday service: 01:10 the next morning.
    f.add_trip(
        "N1-2510",
        route_id="N1",
        service_id="WK",
        trip_headsign="山頂",
        stops=[("PIER", "25:10:00"), ("MKT", "25:20:00"), ("HILL", "25:35:00")],
    )
    # A loop: Riverside A -> Market -> Riverside A again.
    f.add_trip(
        "2-LOOP",
        route_id="2",
        service_id="WK",
        trip_headsign="河畔循環",
        stops=[
            ("STN-A", "10:00:00"),
            ("MKT", "10:15:00"),
            ("STN-A", "10:30:00"),
            ("PIER", "10:40:00"),
        ],
    )
    # Frequency-based: every 10 min 07:00-08:00 exactly, every 15 min 16:00-17:00 inexact.
    f.add_trip(
        "F-TEMPLATE",
        route_id="F",
        service_id="WK",
        trip_headsign="碼頭",
        stops=[("STN-B", "00:00:00"), ("PIER", "00:12:00")],
    )
    f.add(
        "frequencies.txt",
        trip_id="F-TEMPLATE",
        start_time="07:00:00",
        end_time="08:00:00",
        headway_secs=600,
        exact_times=1,
    )
    f.add(
        "frequencies.txt",
        trip_id="F-TEMPLATE",
        start_time="16:00:00",
        end_time="17:00:00",
        headway_secs=900,
        exact_times=0,
    )
    return f


def feed_around(now, timezone=HK):
    """A feed whose route 7 leaves stop A every 10 minutes from `now` + 3 min for two hours
    (calling at B and C), on a service running every day: for tests that need the real "now"
    (My page, the browser), whatever the time of day. Times past 24:00 are used near
    midnight, as a real feed would."""
    import datetime as dt
    import zoneinfo

    from transit.timetable import service_day_origin

    tz = zoneinfo.ZoneInfo(timezone)
    day = now.astimezone(tz).date()
    origin = service_day_origin(day, tz)
    first = int((now - origin).total_seconds()) // 60 + 3
    f = FeedBuilder()
    f.add(
        "agency.txt",
        agency_id="DB",
        agency_name="District Bus",
        agency_url="https://bus.example",
        agency_timezone=timezone,
    )
    for stop_id, name, en in (
        ("A", "海濱", "Harbourfront"),
        ("B", "街市", "Market"),
        ("C", "山頂", "Hilltop"),
    ):
        f.add("stops.txt", stop_id=stop_id, stop_name=name, stop_lat=22.28, stop_lon=114.15)
        f.translate("stops", "stop_name", {"en": en}, record_id=stop_id)
    f.add(
        "routes.txt",
        route_id="7",
        agency_id="DB",
        route_short_name="7",
        route_long_name="海濱 - 山頂",
        route_type=3,
        route_color="6A1B9A",
    )
    f.add(
        "routes.txt",
        route_id="8",
        agency_id="DB",
        route_short_name="8",
        route_long_name="街市 - 山頂",
        route_type=3,
    )
    start = (day - dt.timedelta(days=2)).strftime("%Y%m%d")
    end = (day + dt.timedelta(days=2)).strftime("%Y%m%d")
    f.service("ALL", "1111111", start, end)

    def hms(minutes):
        return f"{minutes // 60:02d}:{minutes % 60:02d}:00"

    for n in range(12):
        begin = first + 10 * n
        f.add_trip(
            f"7-{n}",
            route_id="7",
            service_id="ALL",
            trip_headsign="山頂",
            stops=[
                ("A", hms(begin)),
                ("B", hms(begin + 5)),
                {
                    "stop_id": "C",
                    "arrival_time": hms(begin + 9),
                    "departure_time": hms(begin + 9),
                    "pickup_type": 1,
                },
            ],
        )
        f.add_trip(
            f"8-{n}",
            route_id="8",
            service_id="ALL",
            trip_headsign="山頂",
            stops=[("B", hms(begin + 2)), ("C", hms(begin + 8))],
        )
    return f, day
