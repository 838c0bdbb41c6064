"""The demo district's transit: a small GTFS feed shaped like a real one, and a local
GTFS-realtime producer so the embedded run shows live data.

The feed (built relative to the day it is loaded, so the demo works on any day):
- District Bus (區巴) with routes 1 (Pier - Hillside via Market), 3 (Market - Riverside),
  2 (the Riverside circular, a loop that calls at Riverside Station twice) and N1 (the night
  route, whose trips leave at 24:30 and 25:10 of the day before);
- Harbour Ferry's shuttle F, frequency-based (every 10 min exactly in the morning, about every
  15 min for the rest of the day);
- stop names in Traditional Chinese with Simplified Chinese and English translations;
- weekday, Saturday and Sunday services for a week back and eight weeks ahead, with a public
  holiday on the next weekday two days ahead: weekday service removed, Sunday service added.

The realtime files (var/transit/demo/) are written by `write_realtime(now)`: the next route 1
trip from the Pier is 4 minutes late, the next route 3 trip is cancelled, the next route 1
trip towards the Pier does not stop at Market, and route 2 has a diversion alert. The
embedded run's beat calls it before each poll (TRANSIT_DEMO_PRODUCER), like a producer that
publishes every 30 seconds; without it the files go stale and the pages say "timetable".
"""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .gtfs_writer import FeedBuilder, add_alert, add_trip_update, realtime_message
from .models import Feed, Stop
from .timetable import scheduled_calls

FEED_CODE = "district"
HK = "Asia/Hong_Kong"

# stop_id, zh-Hant, zh-Hans, en, lat, lon, parent, platform
STOPS = [
    ("PIER", "碼頭", "码头", "Pier", 22.28195, 114.15830, "", ""),
    ("PRAYA", "海旁道", "海旁道", "Praya Road", 22.28240, 114.15610, "", ""),
    ("MKT", "街市", "街市", "Market", 22.28335, 114.15095, "", ""),
    ("LIMIN", "利民道", "利民道", "Limin Road", 22.28420, 114.14770, "", ""),
    ("PINE", "松柏路", "松柏路", "Pine Road", 22.28610, 114.14380, "", ""),
    ("HILL", "山景", "山景", "Hillside", 22.28765, 114.14105, "", ""),
    ("RVS", "河畔站", "河畔站", "Riverside Station", 22.27650, 114.17280, "", ""),
    (
        "RVS-A",
        "河畔站 A 月台",
        "河畔站 A 月台",
        "Riverside Station platform A",
        22.27645,
        114.17275,
        "RVS",
        "A",
    ),
    (
        "RVS-B",
        "河畔站 B 月台",
        "河畔站 B 月台",
        "Riverside Station platform B",
        22.27655,
        114.17287,
        "RVS",
        "B",
    ),
    ("WILLOW", "柳樹街", "柳树街", "Willow Street", 22.27720, 114.16900, "", ""),
    ("EMB", "河堤路", "河堤路", "Embankment Road", 22.27810, 114.16500, "", ""),
    ("FERRY", "渡輪碼頭", "渡轮码头", "Ferry Pier", 22.28100, 114.16010, "", ""),
]
# route_id, agency, short name, zh-Hant long, zh-Hans long, en long, colour, text colour, type
ROUTES = [
    ("1", "DB", "1", "碼頭 - 山景", "码头 - 山景", "Pier - Hillside", "C62828", "FFFFFF", 3),
    ("2", "DB", "2", "河畔循環線", "河畔循环线", "Riverside Circular", "1565C0", "FFFFFF", 3),
    (
        "3",
        "DB",
        "3",
        "街市 - 河畔站",
        "街市 - 河畔站",
        "Market - Riverside Station",
        "2E7D32",
        "FFFFFF",
        3,
    ),
    (
        "N1",
        "DB",
        "N1",
        "通宵線 碼頭 - 山景",
        "通宵线 码头 - 山景",
        "Night route Pier - Hillside",
        "37474F",
        "FFFFFF",
        3,
    ),
    ("F", "HF", "F", "渡輪接駁", "渡轮接驳", "Ferry shuttle", "00838F", "FFFFFF", 4),
]
HEADSIGNS = {  # zh-Hant: (zh-Hans, en)
    "山景": ("山景", "Hillside"),
    "碼頭": ("码头", "Pier"),
    "河畔站": ("河畔站", "Riverside Station"),
    "街市": ("街市", "Market"),
    "河畔循環": ("河畔循环", "Riverside Circular"),
    "渡輪碼頭": ("渡轮码头", "Ferry Pier"),
}
ROUTE_1 = [("PIER", 0), ("PRAYA", 3), ("MKT", 7), ("LIMIN", 10), ("PINE", 14), ("HILL", 18)]
ROUTE_3 = [("MKT", 0), ("PRAYA", 4), ("FERRY", 8), ("EMB", 13), ("WILLOW", 16), ("RVS-A", 20)]
ROUTE_2 = [("RVS-A", 0), ("WILLOW", 4), ("EMB", 8), ("FERRY", 13), ("EMB", 18), ("RVS-A", 24)]


def _hms(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _demo_holiday(today):
    """The next weekday at least two days ahead: the demo's public holiday."""
    day = today + dt.timedelta(days=2)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def build_feed(today):
    """The demo district's GTFS feed around `today`."""
    start, end = today - dt.timedelta(days=7), today + dt.timedelta(days=56)
    f = FeedBuilder()
    for agency_id, name, url in (
        ("DB", "區巴 District Bus", "https://bus.district.example"),
        ("HF", "海港渡輪 Harbour Ferry", "https://ferry.district.example"),
    ):
        f.add(
            "agency.txt",
            agency_id=agency_id,
            agency_name=name,
            agency_url=url,
            agency_timezone=HK,
            agency_lang="zh-Hant",
        )
    f.add(
        "feed_info.txt",
        feed_publisher_name="District Transport Office",
        feed_publisher_url="https://transport.district.example",
        feed_lang="zh-Hant",
        feed_start_date=f"{start:%Y%m%d}",
        feed_end_date=f"{end:%Y%m%d}",
        feed_version=f"demo-{today:%Y%m%d}",
    )
    for stop_id, hant, hans, en, lat, lon, parent, platform in STOPS:
        f.add(
            "stops.txt",
            stop_id=stop_id,
            stop_code=stop_id if not parent else "",
            stop_name=hant,
            stop_lat=lat,
            stop_lon=lon,
            location_type=1 if stop_id == "RVS" else "",
            parent_station=parent,
            platform_code=platform,
            wheelchair_boarding=1 if stop_id != "HILL" else 2,
        )
        f.translate("stops", "stop_name", {"zh-Hans": hans, "en": en}, record_id=stop_id)
    for route_id, agency, short, hant, hans, en, color, text_color, kind in ROUTES:
        f.add(
            "routes.txt",
            route_id=route_id,
            agency_id=agency,
            route_short_name=short,
            route_long_name=hant,
            route_type=kind,
            route_color=color,
            route_text_color=text_color,
        )
        f.translate("routes", "route_long_name", {"zh-Hans": hans, "en": en}, record_id=route_id)
    for hant, (hans, en) in HEADSIGNS.items():
        f.translate("trips", "trip_headsign", {"zh-Hans": hans, "en": en}, field_value=hant)
    for service_id, days in (("WK", "1111100"), ("SA", "0000010"), ("SU", "0000001")):
        f.service(service_id, days, f"{start:%Y%m%d}", f"{end:%Y%m%d}")
    holiday = _demo_holiday(today).strftime("%Y%m%d")
    f.add("calendar_dates.txt", service_id="WK", date=holiday, exception_type=2)
    f.add("calendar_dates.txt", service_id="SU", date=holiday, exception_type=1)

    headways = {"WK": 12, "SA": 15, "SU": 20}
    for service_id, headway in headways.items():
        for direction, pattern, headsign in ((0, ROUTE_1, "山景"), (1, _reverse(ROUTE_1), "碼頭")):
            for n, begin in enumerate(range(6 * 60, 24 * 60, headway)):
                f.add_trip(
                    f"1-{service_id}-{direction}-{n:03d}",
                    route_id="1",
                    service_id=service_id,
                    trip_headsign=headsign,
                    direction_id=direction,
                    wheelchair_accessible=1 if n % 3 else 2,
                    stops=_calls(pattern, begin),
                )
        for n, begin in enumerate(range(6 * 60 + 5, 23 * 60, headway * 2)):
            f.add_trip(
                f"3-{service_id}-{n:03d}",
                route_id="3",
                service_id=service_id,
                trip_headsign="河畔站",
                wheelchair_accessible=1,
                stops=_calls(ROUTE_3, begin),
            )
        for n, begin in enumerate(range(6 * 60 + 10, 22 * 60, 30)):
            f.add_trip(
                f"2-{service_id}-{n:03d}",
                route_id="2",
                service_id=service_id,
                trip_headsign="河畔循環",
                wheelchair_accessible=1,
                stops=_calls(ROUTE_2, begin),
            )
        # The night route belongs to the day before: 24:30 and 25:10 are after midnight.
        for n, begin in enumerate((24 * 60 + 30, 25 * 60 + 10)):
            f.add_trip(
                f"N1-{service_id}-{n}",
                route_id="N1",
                service_id=service_id,
                trip_headsign="山景",
                stops=_calls(ROUTE_1, begin),
            )
    for trip_id, service_id in (("F-SHUTTLE", "WK"), ("F-SHUTTLE-WE", "SA")):
        f.add_trip(
            trip_id,
            route_id="F",
            service_id=service_id,
            trip_headsign="渡輪碼頭",
            stops=[("RVS-B", "00:00:00"), ("EMB", "00:05:00"), ("FERRY", "00:11:00")],
        )
    for trip_id in ("F-SHUTTLE", "F-SHUTTLE-WE"):
        f.add(
            "frequencies.txt",
            trip_id=trip_id,
            start_time="07:00:00",
            end_time="10:00:00",
            headway_secs=600,
            exact_times=1,
        )
        f.add(
            "frequencies.txt",
            trip_id=trip_id,
            start_time="10:00:00",
            end_time="20:00:00",
            headway_secs=900,
            exact_times=0,
        )
    return f


def _calls(pattern, begin):
    """Stop times of a trip starting at `begin` minutes; nobody boards at the last stop."""
    calls = [
        {"stop_id": s, "arrival_time": _hms(begin + m), "departure_time": _hms(begin + m)}
        for s, m in pattern
    ]
    calls[-1]["pickup_type"] = 1
    return calls


def _reverse(pattern):
    total = pattern[-1][1]
    return [(stop, total - minutes) for stop, minutes in reversed(pattern)]


def realtime_dir():
    return Path(settings.VAR_DIR) / "transit" / "demo"


def write_realtime(now=None, stale_by=0):
    """Write the demo's trip updates and alerts for trips around `now` (header dated
    `stale_by` seconds earlier). Returns the files' paths."""
    now = now or timezone.now()
    feed = Feed.objects.select_related("live_version").filter(code=FEED_CODE).first()
    folder = realtime_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.timestamp() - stale_by
    trip_updates, alerts = realtime_message(stamp), realtime_message(stamp)
    if feed is not None and feed.live_version is not None:
        version = feed.live_version
        stops = dict(
            Stop.objects.filter(version=version, stop_id__in=["PIER", "MKT", "HILL"]).values_list(
                "stop_id", "pk"
            )
        )
        soon = scheduled_calls(version, list(stops.values()), now, now + dt.timedelta(hours=3))

        def first(route_prefix, stop_id, skip=()):
            """The next trip of a route leaving from its first stop `stop_id`."""
            return next(
                (
                    c
                    for c in soon
                    if c.trip_id.startswith(route_prefix)
                    and c.stop_sequence == 1
                    and c.stop_pk == stops.get(stop_id)
                    and c.trip_id not in skip
                ),
                None,
            )

        delayed = first("1-", "PIER")
        if delayed:
            add_trip_update(
                trip_updates,
                delayed.trip_id,
                start_date=delayed.service_day.strftime("%Y%m%d"),
                stops=[{"stop_sequence": delayed.stop_sequence, "departure_delay": 240}],
                timestamp=stamp,
            )
        cancelled = first("3-", "MKT")
        if cancelled:
            add_trip_update(
                trip_updates,
                cancelled.trip_id,
                start_date=cancelled.service_day.strftime("%Y%m%d"),
                cancelled=True,
                timestamp=stamp,
            )
        skipping = first("1-", "HILL", skip={delayed.trip_id} if delayed else ())
        if skipping:
            add_trip_update(
                trip_updates,
                skipping.trip_id,
                start_date=skipping.service_day.strftime("%Y%m%d"),
                stops=[
                    {"stop_sequence": skipping.stop_sequence, "departure_delay": 60},
                    {"stop_sequence": skipping.stop_sequence + 3, "skipped": True},
                ],
                timestamp=stamp,
            )
        add_alert(
            alerts,
            "demo-roadworks-willow",
            header={
                "zh-Hant": "柳樹街道路工程：2 號線改道",
                "zh-Hans": "柳树街道路工程：2 号线改道",
                "en": "Roadworks on Willow Street: route 2 diverted",
            },
            description={
                "zh-Hant": "2 號線不停柳樹街，請改在河堤路上車。",
                "zh-Hans": "2 号线不停柳树街，请改在河堤路上车。",
                "en": "Route 2 does not call at Willow Street; please board at Embankment Road.",
            },
            periods=[(now.timestamp() - 3600, now.timestamp() + 6 * 3600)],
            entities=[{"agency_id": "DB", "route_id": "2"}, {"stop_id": "WILLOW"}],
            effect="DETOUR",
            cause="CONSTRUCTION",
            severity="WARNING",
        )
    paths = folder / "trip-updates.pb", folder / "alerts.pb"
    for path, message in zip(paths, (trip_updates, alerts), strict=True):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(message.SerializeToString())
        tmp.replace(path)  # readers never see half a file
    return paths


def is_demo_feed(feed):
    """Whether the feed reads the demo's local realtime files (then the embedded run's beat
    produces them, see tasks.poll_realtime)."""
    return feed.trip_updates_url == str(realtime_dir() / "trip-updates.pb")


def load_demo(stdout):
    """The load_demo_data hook: import the demo feed (a new version each run) and write the
    realtime files."""
    from .importer import import_gtfs

    today = timezone.localdate()
    folder = Path(settings.VAR_DIR) / "transit" / "demo-gtfs"
    build_feed(today).write_folder(folder)
    version, report = import_gtfs(FEED_CODE, folder, name="District Bus and Ferry")
    trip_updates, alerts = write_realtime()
    Feed.objects.filter(code=FEED_CODE).update(
        trip_updates_url=str(trip_updates), alerts_url=str(alerts)
    )
    from . import realtime

    realtime.poll_all()
    stdout.write(
        f"Transit: feed '{FEED_CODE}' with {report.loaded['stop_times.txt']} stop times; "
        f"realtime files in {realtime_dir()}."
    )
