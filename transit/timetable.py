"""The static timetable: service days, scheduled departures at stops, translations.

GTFS times count from "noon minus 12 h" of the service day in the agency's time zone. That
instant is midnight on ordinary days, but 01:00 or 23:00 of the day before on the days the
clocks change, which is why times are never turned into wall-clock times by adding them to a
date: `service_day_origin(day, tz) + seconds` is the instant, always.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Q
from django.utils import translation

from .models import (
    Agency,
    Frequency,
    RealtimeTripUpdate,
    Route,
    Service,
    ServiceException,
    StopTime,
    Translation,
    Trip,
)

UTC = dt.UTC
# The frequency columns of a regular call, typed (PostgreSQL types a bare NULL as text in a
# sub-select, which a UNION with integers refuses).
NO_FREQUENCY = ", ".join(f"CAST(NULL AS INTEGER) AS f_{n}" for n in range(5))
SERVICE_CACHE_SECONDS = 6 * 3600


# Per-process memory for what never changes within a feed version (versions are never changed
# after import): services per day, time zones, routes, stops, translations. Keyed by the
# version's pk *and* start time, so a pk reused (a rolled-back test on SQLite) never sees an
# older version's entries. A few versions at most; each entry bounds itself.
_VERSION_MEMOS = {}
MEMO_VERSIONS = 8


def version_memo(version):
    """This process's memo dict for a feed version (see above)."""
    key = (version.pk, version.started_at)
    memo = _VERSION_MEMOS.get(key)
    if memo is None:
        if len(_VERSION_MEMOS) >= MEMO_VERSIONS:
            _VERSION_MEMOS.clear()
        memo = _VERSION_MEMOS[key] = {}
    return memo


def bounded(memo, name, size):
    """memo[name], a dict emptied when it reaches `size` entries."""
    table = memo.get(name)
    if table is None or len(table) >= size:
        table = memo[name] = {}
    return table


def service_day_origin(day, tz):
    """The instant of 00:00:00 in GTFS terms: noon of `day` in `tz`, minus 12 hours."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
    # Through UTC: aware arithmetic in one zone is wall-clock arithmetic in Python, which
    # would give local midnight instead of noon minus 12 h on a daylight-saving day.
    return noon.astimezone(UTC) - dt.timedelta(hours=12)


def zone(name):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def active_services(version_id, day):
    """Service pks running on `day`: calendar.txt's weekdays within its dates, plus
    calendar_dates.txt additions, minus its removals. Cached per version and day (versions are
    never changed after import, so the cache needs no invalidation)."""
    key = f"transit:services:{version_id}:{day.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    bit = 1 << day.weekday()
    running = set(
        Service.objects.filter(version_id=version_id, start_date__lte=day, end_date__gte=day)
        .annotate(runs=F("weekdays").bitand(bit))
        .filter(runs__gt=0)
        .values_list("pk", flat=True)
    )
    for service, kind in ServiceException.objects.filter(
        version_id=version_id, date=day
    ).values_list("service_id", "exception_type"):
        if kind == ServiceException.ADDED:
            running.add(service)
        else:
            running.discard(service)
    result = frozenset(running)
    cache.set(key, result, SERVICE_CACHE_SECONDS)
    return result


def version_timezones(version_id):
    """{agency pk: time zone name} of a version (cached; usually one agency)."""
    key = f"transit:agencies:{version_id}"
    cached = cache.get(key)
    if cached is None:
        cached = dict(Agency.objects.filter(version_id=version_id).values_list("pk", "timezone"))
        cache.set(key, cached, SERVICE_CACHE_SECONDS)
    return cached


@dataclass(slots=True)
class ScheduledCall:
    """One scheduled call of a trip at a stop, on one service day."""

    stop_pk: int
    trip_pk: int
    trip_id: str
    route_pk: int
    service_day: dt.date
    origin: dt.datetime  # the service day's noon minus 12 h
    stop_sequence: int
    arrival: int  # seconds from origin
    departure: int
    stop_headsign: str | None
    headsign: str
    wheelchair_accessible: int
    drop_off_only: bool = False
    # Frequency-based trips: the trip instance's start (seconds from origin), headway, exact.
    start_time: int | None = None
    headway: int | None = None
    exact_times: bool = True

    @property
    def departure_at(self):
        return self.origin + dt.timedelta(seconds=self.departure)

    @property
    def arrival_at(self):
        return self.origin + dt.timedelta(seconds=self.arrival)


@dataclass
class _DayWindow:
    tz_name: str
    day: dt.date
    origin: dt.datetime
    low: int
    high: int
    services: frozenset = field(default_factory=frozenset)


def _day_windows(version, start, end, max_departure=None):
    """For each agency time zone and each service day that can reach [start, end]: the
    window in seconds from that day's origin. Yesterday counts while its trips can still run
    (times past 24:00, up to the feed's `max_departure`). Time zones, services and origins of
    a day come from the version's memo after the first board of that day."""
    memo = version_memo(version)
    zones = memo.get("zones")
    if zones is None:
        zones = memo["zones"] = sorted(set(version_timezones(version.pk).values()))
    origins, days = bounded(memo, "origins", 256), bounded(memo, "services", 256)
    windows = []
    for tz_name in zones:
        tz = zone(tz_name)
        first = start.astimezone(tz).date() - dt.timedelta(days=1)
        last = end.astimezone(tz).date()
        for n in range((last - first).days + 1):
            day = first + dt.timedelta(days=n)
            origin = origins.get((tz_name, day))
            if origin is None:
                origin = origins[(tz_name, day)] = service_day_origin(day, tz)
            low = int((start - origin).total_seconds())
            high = int((end - origin).total_seconds())
            if high < 0 or (max_departure is not None and low > max_departure):
                continue  # the window is before this day begins, or after its last trip
            services = days.get(day)
            if services is None:
                services = days[day] = active_services(version.pk, day)
            if services:
                windows.append(_DayWindow(tz_name, day, origin, max(low, 0), high, services))
    return windows


def scheduled_calls(
    version,
    stop_pks,
    start,
    end,
    *,
    limit=None,
    realtime_since=None,
    realtime_feed_id=None,
    groups=None,
):
    """Scheduled departures at `stop_pks` from `start` to `end` (aware datetimes), across every
    service day that reaches the window, in one query; frequency-based trips are expanded into
    their instances (exact_times 1 and 0 alike, the latter marked inexact).

    With `limit`, each service day gives at most that many calls per group of stops
    (`groups`: lists of stop pks, e.g. a station and its platforms; default one group), so
    a busy stop cannot crowd a quiet one out of a shared query.
    With `realtime_since` and `realtime_feed_id`, calls between `realtime_since` and `start`
    are added too, but only of trips in that feed's realtime snapshot: a delayed vehicle
    scheduled a while ago may still be coming.
    """
    if not stop_pks:
        return []
    windows = _day_windows(version, realtime_since or start, end, version.max_departure)
    if not windows:
        return []
    st, trip, route, agency = (
        StopTime._meta.db_table,
        Trip._meta.db_table,
        Route._meta.db_table,
        Agency._meta.db_table,
    )
    freq = Frequency._meta.db_table
    rt = RealtimeTripUpdate._meta.db_table
    several_zones = len({w.tz_name for w in windows}) > 1
    groups = groups or [list(stop_pks)]
    parts, params = [], []
    columns = (
        "st.stop_id, st.trip_id, t.trip_id, t.route_id, st.stop_sequence, st.arrival, "
        "st.departure, st.stop_headsign, t.headsign, t.wheelchair_accessible"
    )
    for (index, w), group in ((iw, g) for iw in enumerate(windows) for g in groups):
        stop_pks = group
        stops_sql = ", ".join(["%s"] * len(stop_pks))
        services_sql = ", ".join(["%s"] * len(w.services))
        zone_join = zone_cond = ""
        zone_params = []
        if several_zones:
            zone_join = (
                f" JOIN {route} r ON r.id = t.route_id JOIN {agency} a ON a.id = r.agency_id"
            )
            zone_cond = " AND a.timezone = %s"
            zone_params = [w.tz_name]
        from_regular = (
            f"FROM {st} st JOIN {trip} t ON t.id = st.trip_id{zone_join} "
            f"WHERE st.version_id = %s AND st.stop_id IN ({stops_sql}) AND st.pickup_type <> 1 "
            f"AND t.service_id IN ({services_sql}) AND t.has_frequencies = %s{zone_cond} "
        )
        regular_params = [version.pk, *stop_pks, *w.services, False, *zone_params]
        low = max(int((start - w.origin).total_seconds()), 0)
        # Each part is wrapped in a sub-select: SQLite allows ORDER BY / LIMIT only there.
        parts.append(
            f"SELECT * FROM (SELECT {index}, {columns}, {NO_FREQUENCY} {from_regular}"
            f"AND st.departure BETWEEN %s AND %s ORDER BY st.departure"
            + (" LIMIT %s" if limit else "")
            + f") q{len(parts)}"
        )
        params += [*regular_params, low, w.high] + ([limit] if limit else [])
        if realtime_since is not None and realtime_feed_id is not None and w.low < low:
            # ... and only of trips late enough to be still coming.
            parts.append(
                f"SELECT {index}, {columns}, {NO_FREQUENCY} {from_regular}"
                f"AND st.departure BETWEEN %s AND %s AND EXISTS (SELECT 1 FROM {rt} rt "
                f"WHERE rt.feed_id = %s AND rt.trip_id = t.trip_id AND rt.start_date = %s "
                f"AND rt.max_delay >= %s - st.departure)"
            )
            params += [*regular_params, w.low, low - 1, realtime_feed_id, w.day, low]
        if version.has_frequencies:
            # Template stop times are offsets from the trip's first departure; an instance
            # starting at s calls here at s + offset. Driven by the (small) frequency table.
            parts.append(
                f"SELECT {index}, {columns}, f.start_time, f.end_time, f.headway_secs, "
                f"f.exact_times, t.first_departure "
                f"FROM {freq} f JOIN {trip} t ON t.id = f.trip_id "
                f"JOIN {st} st ON st.trip_id = t.id{zone_join} "
                f"WHERE f.version_id = %s AND st.version_id = %s AND st.stop_id IN ({stops_sql}) "
                f"AND st.pickup_type <> 1 AND t.service_id IN ({services_sql}) "
                f"AND f.start_time + (st.departure - t.first_departure) <= %s "
                f"AND f.end_time + (st.departure - t.first_departure) >= %s{zone_cond}"
            )
            params += [version.pk, version.pk, *stop_pks, *w.services, w.high, w.low, *zone_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    calls = []
    for row in rows:
        (
            index,
            stop_pk,
            trip_pk,
            trip_id,
            route_pk,
            seq,
            arrival,
            departure,
            stop_headsign,
            headsign,
            wheelchair,
            f_start,
            f_end,
            headway,
            exact,
            first,
        ) = row
        if departure is None:
            continue  # a trip without times (no time at its first or last stop)
        w = windows[index]
        if f_start is None:
            calls.append(
                ScheduledCall(
                    stop_pk,
                    trip_pk,
                    trip_id,
                    route_pk,
                    w.day,
                    w.origin,
                    seq,
                    arrival,
                    departure,
                    stop_headsign,
                    headsign,
                    wheelchair,
                )
            )
            continue
        offset = departure - first
        arrival_offset = (arrival if arrival is not None else departure) - first
        # Instances start at f_start, f_start + headway, ... before f_end.
        k = max(0, -(-(w.low - offset - f_start) // headway))
        begin = f_start + k * headway
        while begin < f_end and begin + offset <= w.high:
            calls.append(
                ScheduledCall(
                    stop_pk,
                    trip_pk,
                    trip_id,
                    route_pk,
                    w.day,
                    w.origin,
                    seq,
                    begin + arrival_offset,
                    begin + offset,
                    stop_headsign,
                    headsign,
                    wheelchair,
                    start_time=begin,
                    headway=headway,
                    exact_times=bool(exact),
                )
            )
            begin += headway
    calls.sort(key=lambda c: (c.departure_at, c.trip_id))
    return calls


# Translations -----------------------------------------------------------------------------------
LANGUAGE_CANDIDATES = {
    "zh-hant": ("zh-hant", "zh-hk", "zh-tw", "zh-mo", "zh"),
    "zh-hans": ("zh-hans", "zh-cn", "zh-sg", "zh"),
    "en": ("en", "en-gb", "en-us", "en-hk"),
}


def language_candidates(language=None):
    """GTFS language tags (lowercase) acceptable for an interface language, best first."""
    language = (language or translation.get_language() or "en").lower()
    for prefix, candidates in LANGUAGE_CANDIDATES.items():
        if language.startswith(prefix):
            return candidates
    return (language, language.split("-")[0])


class Translator:
    """Looks up translations.txt texts for one version and language.

    `want(record_id, value)` registers what will be needed; `get(...)` answers with the best
    translation or the original value. What was looked up once is kept in the version's memo
    in this process, so a board asks the database only for names it has not met yet (none,
    once a stop's boards have been shown).
    """

    def __init__(self, version, language=None):
        self.version = version
        self.candidates = language_candidates(language)
        self.wanted_ids = set()
        self.wanted_values = set()
        self.loaded = None

    def want(self, record_id, value):
        if record_id:
            self.wanted_ids.add(record_id)
        if value:
            self.wanted_values.add(value)

    def want_many(self, record_ids, values):
        """want() for many at once: record ids and values (empty ones are ignored)."""
        self.wanted_ids.update(record_ids)
        self.wanted_values.update(values)
        self.wanted_ids.discard("")
        self.wanted_ids.discard(None)
        self.wanted_values.discard("")
        self.wanted_values.discard(None)

    def _load(self):
        default = (self.version.default_language or "").lower()
        if default and default in self.candidates[:1]:
            self.loaded = {}
            return  # the feed is already in the reader's language
        memo = version_memo(self.version)
        known = memo.get(("translations", self.candidates))
        if known is None or len(known["ids"]) + len(known["values"]) > 200_000:
            known = memo[("translations", self.candidates)] = {
                "ids": set(),
                "values": set(),
                "texts": {},
            }
        self.loaded = known["texts"]
        ids = self.wanted_ids - known["ids"]
        values = self.wanted_values - known["values"]
        if not ids and not values:
            return
        condition = Q()
        if ids:
            condition |= Q(record_id__in=ids)
        if values:
            condition |= Q(field_value__in=values)
        rows = Translation.objects.filter(
            condition, version_id=self.version.pk, language__in=self.candidates
        ).values_list(
            "table_name",
            "field_name",
            "record_id",
            "record_sub_id",
            "field_value",
            "language",
            "translation",
        )
        rank = {lang: i for i, lang in enumerate(self.candidates)}
        loaded = self.loaded
        for table, fname, record_id, sub_id, value, lang, text in rows:
            key = (table, fname, record_id, sub_id) if record_id else (table, fname, "=", value)
            order = rank.get(lang, 99)
            if key not in loaded or order < loaded[key][0]:
                loaded[key] = (order, text)
        known["ids"] |= ids
        known["values"] |= values

    def get(self, table, field_name, record_id, value, sub_id=""):
        if self.loaded is None:
            self._load()
        if not value:
            return value
        loaded = self.loaded
        hit = loaded.get((table, field_name, record_id, sub_id))
        if hit is None:
            hit = loaded.get((table, field_name, "=", value))
        return value if hit is None else hit[1]
