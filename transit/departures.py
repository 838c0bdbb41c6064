"""Next departures at stops: the timetable corrected by realtime, with names in the reader's
language, and the alerts that concern them. Views, the JSON API and the My page panel all
call `boards()` / `board()`; none of them touches the network (realtime comes from the
stored snapshot).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from . import realtime
from .models import Route, Stop, StopTime, Trip
from .timetable import Translator, bounded, scheduled_calls, version_memo, zone

# Predictions can bring a call scheduled before "now" into the future: look this far back
# for delayed vehicles.
LOOKBACK = dt.timedelta(minutes=30)
TIMETABLE = realtime.Prediction("timetable")


@dataclass
class Departure:
    stop: Stop  # the platform or stop the vehicle calls at
    route: Route
    route_name: str
    route_long_name: str
    headsign: str
    trip_id: str
    scheduled: dt.datetime
    expected: dt.datetime | None
    delay: int | None
    status: str  # live, timetable, cancelled, skipped
    age: int | None  # seconds since the realtime snapshot, for live/cancelled/skipped
    approximate: bool = False
    headway_minutes: int | None = None
    wheelchair_accessible: bool | None = None
    stop_sequence: int = 0
    service_day: dt.date | None = None
    tz: dt.tzinfo = dt.UTC

    @property
    def when(self):
        return self.expected or self.scheduled

    @property
    def platform(self):
        return self.stop.platform_code

    @property
    def is_live(self):
        return self.status == "live"

    @property
    def local_time(self):
        return self.when.astimezone(self.tz)

    @property
    def scheduled_local(self):
        return self.scheduled.astimezone(self.tz)

    @property
    def delay_minutes(self):
        if self.delay is None:
            return 0
        return round(self.delay / 60)

    def minutes_from(self, now):
        return max(0, int((self.when - now).total_seconds() // 60))


@dataclass
class Board:
    stop: Stop
    name: str
    departures: list = field(default_factory=list)
    routes: list = field(default_factory=list)
    alerts: list | None = None  # None: alerts are unavailable (stale or never fetched)
    trip_updates: realtime.Freshness | None = None
    realtime_configured: bool = False

    @property
    def live_unavailable(self):
        """Realtime is configured but too old (or never arrived): all departures are
        timetable."""
        return self.realtime_configured and not (self.trip_updates and self.trip_updates.live)


def stop_members(stops):
    """{requested stop pk: [pks of it and its child platforms]}, in one query."""
    members = {s.pk: [s.pk] for s in stops}
    stations = [s.pk for s in stops if s.location_type == Stop.LocationType.STATION]
    if stations:
        for pk, parent in Stop.objects.filter(parent_id__in=stations).values_list(
            "pk", "parent_id"
        ):
            members[parent].append(pk)
    return members


def routes_at(version, stop_pks):
    """Routes serving the stops (kept per version in this process and in the cache: the
    timetable of a version never changes)."""
    served = bounded(version_memo(version), "routes_at", 20_000)
    memo_key = tuple(sorted(stop_pks))
    pks = served.get(memo_key)
    if pks is not None:
        return pks
    key = f"transit:routes-at:{version.pk}:{','.join(map(str, memo_key))}"
    pks = cache.get(key)
    if pks is None:
        st, trip = StopTime._meta.db_table, Trip._meta.db_table
        marks = ", ".join(["%s"] * len(stop_pks))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT t.route_id FROM {st} st JOIN {trip} t ON t.id = st.trip_id "
                f"WHERE st.version_id = %s AND st.stop_id IN ({marks})",
                [version.pk, *stop_pks],
            )
            pks = [r[0] for r in cursor.fetchall()]
        cache.set(key, pks, 6 * 3600)
    served[memo_key] = pks
    return pks


def _rows(version, model, pks, name, **related):
    """{pk: row} of a version's stops or routes, from this process's memo of the version
    (a version's rows never change), reading only those not met before."""
    held = bounded(version_memo(version), name, 20_000)
    missing = [pk for pk in pks if pk not in held]
    if missing:
        query = model.objects.filter(pk__in=missing)
        if related:
            query = query.select_related(*related["select"])
        held.update((row.pk, row) for row in query)
    return {pk: held[pk] for pk in pks if pk in held}


def boards(
    feed, stops, *, at=None, now=None, limit=8, language=None, with_routes=True, with_alerts=True
):
    """Departure boards for stops of one feed's live version (a station includes its
    platforms). `at` is the time asked for (default now); realtime applies when fresh."""
    now = now or timezone.now()
    at = at or now
    version = feed.live_version
    members = stop_members(stops)
    all_pks = sorted({pk for pks in members.values() for pk in pks})
    window = dt.timedelta(minutes=settings.TRANSIT_DEPARTURES_WINDOW_MINUTES)
    trip_updates_url, alerts_url = realtime.realtime_urls(feed)
    kinds = [realtime.TRIP_UPDATES] * bool(trip_updates_url) + [realtime.ALERTS] * bool(
        alerts_url and with_alerts
    )
    states = realtime.freshness_of(feed, kinds, now) if kinds else {}
    fresh = states.get(realtime.TRIP_UPDATES)
    live = bool(fresh and fresh.live)
    lookback = LOOKBACK
    if live and fresh.max_delay is not None:
        # No vehicle in the snapshot is later than its largest delay.
        lookback = min(LOOKBACK, dt.timedelta(seconds=max(0, fresh.max_delay)))
    calls = scheduled_calls(
        version,
        all_pks,
        at,
        at + window,
        limit=limit * 2 + 10,
        realtime_since=at - lookback if live and lookback else None,
        realtime_feed_id=feed.pk,
        groups=[members[s.pk] for s in stops],
    )
    updates = (
        realtime.trip_updates_for(feed, realtime.snapshot_keys(calls), fresh.snapshot_id)
        if live
        else {}
    )

    given = {s.pk: s for s in stops}
    stop_rows = {
        **_rows(version, Stop, [pk for pk in all_pks if pk not in given], "stops"),
        **given,
    }
    parents = {s.parent_id for s in stop_rows.values() if s.parent_id} - set(stop_rows)
    parent_rows = _rows(version, Stop, sorted(parents), "stops")
    route_pks = {c.route_pk for c in calls}
    served = {}
    if with_routes:
        for stop in stops:
            served[stop.pk] = routes_at(version, members[stop.pk])
            route_pks.update(served[stop.pk])
    routes = _rows(version, Route, sorted(route_pks), "routes", select=["agency"])

    tr = Translator(version, language)
    tr.want_many(
        {r.route_id for r in routes.values()}
        | {c.trip_id for c in calls}
        | {s.stop_id for s in stop_rows.values()},
        {r.short_name for r in routes.values()}
        | {r.long_name for r in routes.values()}
        | {c.headsign for c in calls}
        | {c.stop_headsign for c in calls}
        | {s.name for s in stop_rows.values()},
    )

    route_names = {}
    for pk, route in routes.items():
        long_name = tr.get("routes", "route_long_name", route.route_id, route.long_name)
        short_name = tr.get("routes", "route_short_name", route.route_id, route.short_name)
        route_names[pk] = (short_name, long_name)

    # First the time of every call (timetable or prediction), then Departures only for those
    # shown.
    member_of = {pk: owner for owner, pks in members.items() for pk in pks}
    candidates = {s.pk: [] for s in stops}
    for call in calls:
        scheduled = call.departure_at
        update = updates.get(
            (call.trip_id, call.service_day, -1 if call.start_time is None else call.start_time)
        )
        if update is not None and call.exact_times:
            prediction = realtime.predict(update, call.stop_sequence, scheduled)
        else:
            prediction = TIMETABLE
        when = prediction.departure or scheduled
        if when < at:
            continue
        short_name, long_name = route_names[call.route_pk]
        candidates[member_of[call.stop_pk]].append(
            (when, short_name or long_name, call.trip_id, scheduled, call, prediction, update)
        )

    zones = {}
    boards_by_stop = {}
    for stop in stops:
        shown = sorted(candidates[stop.pk], key=lambda c: c[:3])[:limit]
        departures = []
        for _when, route_name, trip_id, scheduled, call, prediction, update in shown:
            route = routes[call.route_pk]
            platform = stop_rows[call.stop_pk]
            age = fresh.age if prediction.status != "timetable" and fresh else None
            if update is not None and update.timestamp and prediction.status != "timetable":
                age = max(0, int((now - update.timestamp).total_seconds()))
            tz = zones.get(call.stop_pk)
            if tz is None:
                tz = zones[call.stop_pk] = zone(
                    platform.timezone
                    or (
                        parent_rows.get(platform.parent_id)
                        or stop_rows.get(platform.parent_id)
                        or platform
                    ).timezone
                    or route.agency.timezone
                )
            headsign = tr.get(
                "stop_times",
                "stop_headsign",
                trip_id,
                call.stop_headsign,
                str(call.stop_sequence),
            ) or tr.get("trips", "trip_headsign", trip_id, call.headsign)
            departures.append(
                Departure(
                    stop=platform,
                    route=route,
                    route_name=route_name,
                    route_long_name=route_names[call.route_pk][1],
                    headsign=headsign or "",
                    trip_id=trip_id,
                    scheduled=scheduled,
                    expected=prediction.departure,
                    delay=prediction.delay,
                    status=prediction.status,
                    age=age,
                    approximate=not call.exact_times,
                    headway_minutes=round(call.headway / 60) if call.headway else None,
                    wheelchair_accessible={1: True, 2: False}.get(call.wheelchair_accessible),
                    stop_sequence=call.stop_sequence,
                    service_day=call.service_day,
                    tz=tz,
                )
            )
        served_routes = _in_route_order(version, routes, served.get(stop.pk, []))
        boards_by_stop[stop.pk] = Board(
            stop=stop,
            name=tr.get("stops", "stop_name", stop.stop_id, stop.name),
            departures=departures,
            routes=[(r, *route_names[r.pk]) for r in served_routes],
            trip_updates=fresh,
            realtime_configured=bool(trip_updates_url),
        )
    if with_alerts:
        from .alerts import alerts_for_boards

        alerts_for_boards(
            feed,
            boards_by_stop,
            members,
            stop_rows,
            now,
            language,
            configured=bool(alerts_url),
            fresh=states.get(realtime.ALERTS),
        )
    return boards_by_stop


def board(feed, stop, **kwargs):
    return boards(feed, [stop], **kwargs)[stop.pk]


def _in_route_order(version, routes, pks):
    """The routes in the feed's order (route_sort_order, then by name as riders expect);
    the order of a set of routes is kept in the version's memo."""
    orders = bounded(version_memo(version), "route_order", 20_000)
    key = tuple(pks)
    order = orders.get(key)
    if order is None:
        order = orders[key] = sorted(
            pks,
            key=lambda pk: (
                routes[pk].sort_order if routes[pk].sort_order is not None else 1 << 30,
                _natural(routes[pk].short_name or routes[pk].long_name),
            ),
        )
    return [routes[pk] for pk in order]


def _natural(text):
    """Route names sorted as riders expect: 2 before 10, then letters."""
    digits = "".join(c for c in text if c.isdecimal())  # int() takes these, not "²"
    return (int(digits) if digits else 1 << 30, text)
