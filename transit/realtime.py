"""GTFS-realtime: polling trip updates and service alerts, the stored snapshot, predictions.

The poller (tasks.poll_realtime, every TRANSIT_REALTIME_POLL_SECONDS) fetches each feed with
If-Modified-Since, parses it with gtfs-realtime-bindings, resolves every stop time update
against the live timetable (stop_sequence, or stop_id when a producer gives only that) and
replaces the feed's snapshot in the database in one transaction. A feed that cannot be
fetched or parsed, or claims to come from the future, leaves the last good snapshot in
place; pages only ever read that snapshot (one indexed query), so a broken, slow or
unreachable producer never reaches a page. Freshness is the producer's own timestamp: a
snapshot older than the stale limit is not used, and departures say "timetable".
"""

import datetime as dt
import email.utils
import json
import logging
import os
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2

from .bulk import BulkLoader
from .models import (
    Feed,
    RealtimeAlert,
    RealtimeFeedState,
    RealtimeTripUpdate,
    Stop,
    StopTime,
    Trip,
)
from .timetable import active_services, service_day_origin, version_timezones, zone

logger = logging.getLogger(__name__)

TRIP_UPDATES = RealtimeFeedState.Kind.TRIP_UPDATES
ALERTS = RealtimeFeedState.Kind.ALERTS
FUTURE_TOLERANCE = dt.timedelta(seconds=60)

SCHEDULED, SKIPPED, NO_DATA = "S", "K", "N"
_RELATIONSHIP = {0: SCHEDULED, 1: SKIPPED, 2: NO_DATA}
TripDescriptor = gtfs_realtime_pb2.TripDescriptor
_CANCELLED = {TripDescriptor.CANCELED}
_DELETED = {getattr(TripDescriptor, "DELETED", 7)}


class RealtimeError(Exception):
    """A realtime feed could not be fetched or used; the last good snapshot stays."""


# Fetching ---------------------------------------------------------------------------------------
def realtime_urls(feed):
    """(trip updates URL, alerts URL) of a feed: TRANSIT_REALTIME_FEEDS first, then the feed's."""
    configured = settings.TRANSIT_REALTIME_FEEDS.get(feed.code, {})
    return (
        configured.get("trip_updates", feed.trip_updates_url),
        configured.get("alerts", feed.alerts_url),
    )


def fetch(url, last_modified=""):
    """Fetch a realtime feed: (body or None when not modified, Last-Modified value).

    http(s) URLs are fetched with If-Modified-Since, a timeout and a size limit; a local path
    (or file:// URL) is read when its modification time changed -- the demo's producer writes
    such a file.
    """
    parsed = urlparse(url)
    max_bytes = settings.TRANSIT_REALTIME_MAX_BYTES
    if parsed.scheme in ("http", "https"):
        import requests

        headers = {"Accept": "application/x-protobuf, application/octet-stream"}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        timeout = settings.TRANSIT_REALTIME_TIMEOUT_SECONDS
        try:
            with requests.get(url, headers=headers, timeout=(timeout, timeout), stream=True) as r:
                if r.status_code == 304:
                    return None, last_modified
                if r.status_code != 200:
                    raise RealtimeError(f"HTTP {r.status_code}")
                body = bytearray()
                for chunk in r.iter_content(1 << 16):
                    body += chunk
                    if len(body) > max_bytes:
                        raise RealtimeError(f"larger than {max_bytes} bytes")
                return bytes(body), r.headers.get("Last-Modified", "")
        except requests.RequestException as exc:
            raise RealtimeError(f"{type(exc).__name__}: {exc}") from exc
    path = parsed.path if parsed.scheme == "file" else url
    try:
        stat = os.stat(path)
        stamp = email.utils.formatdate(stat.st_mtime, usegmt=True) + f" {stat.st_mtime_ns}"
        if last_modified and stamp == last_modified:
            return None, last_modified
        if stat.st_size > max_bytes:
            raise RealtimeError(f"larger than {max_bytes} bytes")
        with open(path, "rb") as handle:
            return handle.read(), stamp
    except OSError as exc:
        raise RealtimeError(f"cannot read {path}: {exc.strerror}") from exc


def parse_message(body, now=None):
    """A FeedMessage from bytes; refuses garbage and feeds dated in the future."""
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise RealtimeError(f"not a GTFS-realtime message: {exc}") from exc
    if not message.header.gtfs_realtime_version:
        raise RealtimeError("not a GTFS-realtime message: no header version")
    now = now or timezone.now()
    if not message.header.timestamp:
        raise RealtimeError("the header has no timestamp, so its age is unknown")
    stamp = dt.datetime.fromtimestamp(message.header.timestamp, dt.UTC)
    if stamp > now + FUTURE_TOLERANCE:
        raise RealtimeError(f"the feed is dated {stamp.isoformat()}, in the future")
    return message, stamp


# Trip updates -----------------------------------------------------------------------------------
def _parse_date(value):
    if not value:
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return None


def _parse_hms(value):
    if not value:
        return None
    try:
        h, m, s = (int(x) for x in value.split(":"))
    except ValueError:
        return None
    return h * 3600 + m * 60 + s


def _trips_of(version, trip_ids):
    """{trip_id: (trip pk, agency time zone, service pk, frequency-based)} for the trip ids
    a message names, in chunks."""
    tz_by_agency = version_timezones(version.pk)
    found = {}
    ids = list(trip_ids)
    for start in range(0, len(ids), 2000):
        rows = Trip.objects.filter(version=version, trip_id__in=ids[start : start + 2000])
        for pk, trip_id, agency, service, has_freq in rows.values_list(
            "pk", "trip_id", "route__agency_id", "service_id", "has_frequencies"
        ):
            found[trip_id] = (pk, tz_by_agency.get(agency, "UTC"), service, has_freq)
    return found


def _calls_of(version, trip_pks):
    """{trip pk: [(sequence, stop_id, arrival, departure)]} in sequence order."""
    calls = {pk: [] for pk in trip_pks}
    if not trip_pks:
        return calls
    st, stop = StopTime._meta.db_table, Stop._meta.db_table
    pks = list(trip_pks)
    with connection.cursor() as cursor:
        for start in range(0, len(pks), 2000):
            chunk = pks[start : start + 2000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT st.trip_id, st.stop_sequence, s.stop_id, st.arrival, st.departure "
                f"FROM {st} st JOIN {stop} s ON s.id = st.stop_id "
                f"WHERE st.version_id = %s AND st.trip_id IN ({marks}) "
                f"ORDER BY st.trip_id, st.stop_sequence",
                [version.pk, *chunk],
            )
            for trip_pk, seq, stop_id, arrival, departure in cursor.fetchall():
                calls[trip_pk].append((seq, stop_id, arrival, departure))
    return calls


def _service_date_for(version, trip, calls, now):
    """The service day of a trip update without start_date: the active day (yesterday, today
    or tomorrow) on which the trip runs closest to now."""
    _pk, tz_name, service, _freq = trip
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    times = [c[3] for c in calls if c[3] is not None]
    if not times:
        return None
    best = None
    for offset in (-1, 0, 1):
        day = today + dt.timedelta(days=offset)
        if service not in active_services(version.pk, day):
            continue
        origin = service_day_origin(day, tz)
        begin = origin + dt.timedelta(seconds=min(times))
        end = origin + dt.timedelta(seconds=max(times))
        distance = (
            0 if begin <= now <= end else min(abs(now - begin), abs(now - end)).total_seconds()
        )
        if best is None or distance < best[0]:
            best = (distance, day)
    return best[1] if best else None


def _read_trip_update(tu):
    """The fields of a TripUpdate as plain values, and whether resolving it needs the
    timetable (an update without stop_sequence, or with absolute times only)."""
    trip = tu.trip
    needs_schedule = False
    stops = []
    for stu in tu.stop_time_update:
        seq = stu.stop_sequence if stu.HasField("stop_sequence") else None
        rel = _RELATIONSHIP.get(stu.schedule_relationship, SCHEDULED)
        arr_time = dep_time = arr_delay = dep_delay = None
        if stu.HasField("arrival"):
            event = stu.arrival
            arr_time = event.time or None
            if event.HasField("delay"):
                arr_delay = event.delay
        if stu.HasField("departure"):
            event = stu.departure
            dep_time = event.time or None
            if event.HasField("delay"):
                dep_delay = event.delay
        if seq is None or arr_time or dep_time:
            needs_schedule = True
        stops.append([seq, arr_delay, dep_delay, arr_time, dep_time, rel, stu.stop_id])
    return {
        "trip_id": trip.trip_id,
        "start_date": _parse_date(trip.start_date),
        "start_time": trip.start_time,
        "relationship": trip.schedule_relationship,
        "delay": tu.delay if tu.HasField("delay") else None,
        "timestamp": tu.timestamp or None,
        "stops": stops,
        "needs_schedule": needs_schedule or not trip.start_date,
    }


def resolve_trip_update(version, read, trip, calls, now):
    """A read TripUpdate as a RealtimeTripUpdate (unsaved), or None when it cannot be
    matched. `calls` is the trip's timetable, or None when the update does not need it."""
    _pk, tz_name, _service, has_freq = trip
    if read["relationship"] in _DELETED:
        return None
    start_date = read["start_date"] or (
        _service_date_for(version, trip, calls, now) if calls else None
    )
    if start_date is None:
        return None
    start_time = _parse_hms(read["start_time"]) if has_freq else None
    if has_freq and start_time is None:
        return None  # a frequency-based trip is only identified with its start time
    updates = []
    if read["delay"] is not None:
        updates.append([-1, read["delay"], read["delay"], None, None, SCHEDULED])
    if calls is None:
        # Every update names its stop_sequence and gives delays: no timetable needed.
        updates += [u[:6] for u in read["stops"]]
    else:
        origin_ts = service_day_origin(start_date, zone(tz_name)).timestamp()
        # Frequency trips' stop times are offsets from the first departure.
        shift = (start_time - calls[0][3]) if has_freq and calls and calls[0][3] is not None else 0
        by_seq = {c[0]: c for c in calls}
        position = -1
        for seq, arr_delay, dep_delay, arr_time, dep_time, rel, stop_id in read["stops"]:
            if seq is not None:
                call = by_seq.get(seq)
            else:
                # Without a sequence, the first visit after the previous update (loop trips
                # visit a stop twice; producers must then send stop_sequence).
                call = next((c for c in calls if c[0] > position and c[1] == stop_id), None)
            if call is None:
                continue
            position = call[0]
            scheduled_arr = origin_ts + shift + (call[2] if call[2] is not None else call[3] or 0)
            scheduled_dep = origin_ts + shift + (call[3] if call[3] is not None else call[2] or 0)
            if arr_time:
                arr_delay = int(arr_time - scheduled_arr)
            if dep_time:
                dep_delay = int(dep_time - scheduled_dep)
            updates.append([call[0], arr_delay, dep_delay, arr_time, dep_time, rel])
    updates.sort(key=lambda u: u[0])
    stamp = dt.datetime.fromtimestamp(read["timestamp"], dt.UTC) if read["timestamp"] else None
    delays = [d for u in updates for d in (u[1], u[2]) if d is not None]
    return RealtimeTripUpdate(
        max_delay=max(delays, default=0),
        trip_id=read["trip_id"],
        start_date=start_date,
        start_time=start_time if start_time is not None else -1,
        cancelled=read["relationship"] in _CANCELLED,
        timestamp=stamp if stamp and stamp <= now + FUTURE_TOLERANCE else None,
        updates=updates,
    )


def store_trip_updates(feed, message, snapshot_time, now=None):
    """Resolve and store a parsed trip-updates message as the feed's snapshot (one
    transaction; COPY on PostgreSQL). Returns (stored, unmatched).

    The timetable is read only for the trips whose updates need it (no stop_sequence,
    absolute times, no start date, frequency-based), in one query per 2,000 trips."""
    now = now or timezone.now()
    version = feed.live_version
    reads = [_read_trip_update(e.trip_update) for e in message.entity if e.HasField("trip_update")]
    trips = _trips_of(version, {r["trip_id"] for r in reads if r["trip_id"]}) if version else {}
    need = {
        trips[r["trip_id"]][0]
        for r in reads
        if r["trip_id"] in trips and (r["needs_schedule"] or trips[r["trip_id"]][3])
    }
    calls = _calls_of(version, need)
    rows, unmatched, seen = [], 0, set()
    for read in reads:
        trip = trips.get(read["trip_id"])
        row = resolve_trip_update(version, read, trip, calls.get(trip[0]), now) if trip else None
        if row is None:
            unmatched += 1
            continue
        key = (row.trip_id, row.start_date, row.start_time)
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    with transaction.atomic():
        RealtimeTripUpdate.objects.filter(feed=feed).delete()
        fields = [
            "feed",
            "trip_id",
            "start_date",
            "start_time",
            "cancelled",
            "timestamp",
            "max_delay",
            "updates",
        ]
        with BulkLoader(RealtimeTripUpdate, fields) as load:
            for r in rows:
                load.add(
                    (
                        feed.pk,
                        r.trip_id,
                        r.start_date,
                        r.start_time,
                        r.cancelled,
                        r.timestamp,
                        r.max_delay,
                        json.dumps(r.updates, separators=(",", ":")),
                    )
                )
        _save_state(
            feed,
            TRIP_UPDATES,
            snapshot_time=snapshot_time,
            fetched_at=now,
            last_error="",
            entity_count=len(rows),
            snapshot_id=uuid.uuid4().hex,
            max_delay=max((r.max_delay for r in rows), default=0),
            unmatched_count=unmatched,
        )
        if connection.vendor == "postgresql":
            # The table was just replaced: without fresh statistics PostgreSQL plans the
            # boards' look-back for late trips as if it were empty (200 ms instead of 7 ms
            # on the large benchmark feed). A few ms on a snapshot of 3,000 trips.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {RealtimeTripUpdate._meta.db_table}")
    return len(rows), unmatched


# Alerts -----------------------------------------------------------------------------------------
def _texts(translated):
    return {t.language.lower(): t.text for t in translated.translation if t.text}


def store_alerts(feed, message, snapshot_time, now=None):
    now = now or timezone.now()
    Alert = gtfs_realtime_pb2.Alert
    rows = []
    for entity in message.entity:
        if not entity.HasField("alert"):
            continue
        alert = entity.alert
        periods = [[p.start or None, p.end or None] for p in alert.active_period]
        informed = []
        for e in alert.informed_entity:
            informed.append(
                {
                    "agency_id": e.agency_id,
                    "route_id": e.route_id,
                    "route_type": e.route_type if e.HasField("route_type") else None,
                    "stop_id": e.stop_id,
                    "trip_id": e.trip.trip_id if e.HasField("trip") else "",
                }
            )
        rows.append(
            RealtimeAlert(
                feed_id=feed.pk,
                alert_id=entity.id[:200],
                active_periods=periods,
                informed_entities=informed,
                header=_texts(alert.header_text),
                description=_texts(alert.description_text),
                url=_texts(alert.url),
                cause=Alert.Cause.Name(alert.cause) if alert.HasField("cause") else "",
                effect=Alert.Effect.Name(alert.effect) if alert.HasField("effect") else "",
                severity=(
                    Alert.SeverityLevel.Name(alert.severity_level)
                    if alert.HasField("severity_level")
                    else ""
                ),
            )
        )
    with transaction.atomic():
        RealtimeAlert.objects.filter(feed=feed).delete()
        RealtimeAlert.objects.bulk_create(rows, batch_size=500)
        _save_state(
            feed,
            ALERTS,
            snapshot_time=snapshot_time,
            fetched_at=now,
            last_error="",
            entity_count=len(rows),
            snapshot_id=uuid.uuid4().hex,
            unmatched_count=0,
        )
    return len(rows)


def _save_state(feed, kind, **values):
    RealtimeFeedState.objects.update_or_create(feed=feed, kind=kind, defaults=values)


# Sent after a feed's alerts are stored (feed=, now=). transit.notices tells the residents who
# follow an affected stop and returns how many it told; a signal keeps this module below it.
alerts_stored = Signal()


# Polling ----------------------------------------------------------------------------------------
def poll_feed(feed, kind, url, now=None):
    """Fetch, parse and store one realtime feed. Failures are recorded on the feed's state and
    leave the last good snapshot; returns a short description for the log."""
    now = now or timezone.now()
    state = RealtimeFeedState.objects.filter(feed=feed, kind=kind).first()
    last_modified = state.last_modified if state else ""
    try:
        body, modified = fetch(url, last_modified)
        if body is None:
            _save_state(feed, kind, last_attempt_at=now, fetched_at=now, last_error="")
            return "not modified"
        message, stamp = parse_message(body, now)
        if state and state.snapshot_time and stamp < state.snapshot_time:
            raise RealtimeError("older than the snapshot already stored")
        if kind == TRIP_UPDATES:
            stored, unmatched = store_trip_updates(feed, message, stamp, now)
            result = f"{stored} trips, {unmatched} unmatched"
        else:
            result = f"{store_alerts(feed, message, stamp, now)} alerts"
            told = sum(
                told or 0 for _receiver, told in alerts_stored.send(Feed, feed=feed, now=now)
            )
            if told:
                result += f", {told} residents told"
        _save_state(feed, kind, last_attempt_at=now, last_modified=modified)
        return result
    except RealtimeError as exc:
        logger.warning("Realtime %s of %s: %s", kind, feed.code, exc)
        _save_state(feed, kind, last_attempt_at=now, last_error=str(exc)[:1000])
        return f"error: {exc}"


def poll_all(now=None):
    """Poll every feed's trip updates and alerts once."""
    results = {}
    for feed in Feed.objects.select_related("live_version").exclude(live_version=None):
        trip_updates_url, alerts_url = realtime_urls(feed)
        if trip_updates_url:
            results[(feed.code, TRIP_UPDATES)] = poll_feed(
                feed, TRIP_UPDATES, trip_updates_url, now
            )
        if alerts_url:
            results[(feed.code, ALERTS)] = poll_feed(feed, ALERTS, alerts_url, now)
    return results


# Reading: freshness and predictions ----------------------------------------------------------
@dataclass
class Freshness:
    """How current a feed's realtime is for a page: `live` with its age, or not."""

    snapshot_time: dt.datetime | None
    now: dt.datetime
    stale_after: int
    snapshot_id: str = ""  # changes with every stored snapshot ("" before the first)
    max_delay: int | None = None  # the snapshot's largest delay (s), None if not known

    @property
    def age(self):
        if self.snapshot_time is None:
            return None
        return max(0, int((self.now - self.snapshot_time).total_seconds()))

    @property
    def live(self):
        return self.age is not None and self.age <= self.stale_after


def _stale_after(kind):
    if kind == TRIP_UPDATES:
        return settings.TRANSIT_TRIP_UPDATES_STALE_SECONDS
    return settings.TRANSIT_ALERTS_STALE_SECONDS


def freshness_of(feed, kinds, now=None):
    """{kind: Freshness} of the feed's realtime feeds of those kinds, in one query."""
    now = now or timezone.now()
    # Plain SQL: on every board, and the ORM's query building costs more CPU (1.3 ms) than
    # the rest of the board's own work.
    marks = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, snapshot_time, snapshot_id, max_delay FROM "
            f"{RealtimeFeedState._meta.db_table} WHERE feed_id = %s AND kind IN ({marks})",
            [feed.pk, *kinds],
        )
        found = {kind: (_aware(stamp), *rest) for kind, stamp, *rest in cursor.fetchall()}
    result = {}
    for kind in kinds:
        stamp, snapshot_id, max_delay = found.get(kind, (None, "", None))
        result[kind] = Freshness(stamp, now, _stale_after(kind), snapshot_id, max_delay)
    return result


def _aware(value):
    """A timestamp from a plain query: aware on PostgreSQL; text or naive UTC on SQLite."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def freshness(feed, kind, now=None):
    return freshness_of(feed, [kind], now)[kind]


# What this process has read of each feed's current snapshot: {feed pk: (snapshot id,
# {(trip_id, start_date, start_time): update or None})}. A snapshot never changes once stored
# (a new one gets a new id), so boards after the first read no trip update twice.
_SNAPSHOT_MEMO = {}
SNAPSHOT_MEMO_SIZE = 50_000


def trip_updates_for(feed, keys, snapshot_id=""):
    """{(trip_id, start_date, start_time): RealtimeTripUpdate} for the keys asked: from this
    process's memo of the snapshot `snapshot_id` (see Freshness), else one query."""
    if not keys:
        return {}
    memo = None
    if snapshot_id:
        held = _SNAPSHOT_MEMO.get(feed.pk)
        if held is None or held[0] != snapshot_id or len(held[1]) > SNAPSHOT_MEMO_SIZE:
            held = _SNAPSHOT_MEMO[feed.pk] = (snapshot_id, {})
        memo = held[1]
        missing = [k for k in keys if k not in memo]
    else:
        missing = keys
    found = {}
    if missing:
        rows = RealtimeTripUpdate.objects.filter(
            feed=feed,
            trip_id__in={k[0] for k in missing},
            start_date__in={k[1] for k in missing},
        ).only("trip_id", "start_date", "start_time", "cancelled", "timestamp", "updates")
        found = {(r.trip_id, r.start_date, r.start_time): r for r in rows}
    if memo is None:
        return found
    memo.update(found)
    memo.update((k, None) for k in missing if k not in found)
    return {k: memo[k] for k in keys if memo[k] is not None}


@dataclass
class Prediction:
    status: str  # "live", "skipped", "cancelled" or "timetable" (no prediction for this call)
    departure: dt.datetime | None = None
    delay: int | None = None


def predict(update, stop_sequence, scheduled_departure):
    """The prediction for one call from its trip's stored update.

    A stop's own time wins over a delay; otherwise the delay of the nearest earlier update
    carries downstream. A SKIPPED stop passes the delay on; NO_DATA stops it (the stops after
    it have no prediction until the next update that has one).
    """
    if update.cancelled:
        return Prediction("cancelled")
    delay = None
    for seq, arr_delay, dep_delay, arr_time, dep_time, rel in update.updates:
        if seq > stop_sequence:
            break
        if seq == stop_sequence:
            if rel == SKIPPED:
                return Prediction("skipped")
            if rel == NO_DATA:
                return Prediction("timetable")
            if dep_time or arr_time:
                at = dt.datetime.fromtimestamp(dep_time or arr_time, dt.UTC)
                return Prediction("live", at, int((at - scheduled_departure).total_seconds()))
            own = dep_delay if dep_delay is not None else arr_delay
            if own is not None:
                delay = own
            break
        if rel == NO_DATA:
            delay = None
        elif rel == SCHEDULED:
            upstream = dep_delay if dep_delay is not None else arr_delay
            if upstream is not None:
                delay = upstream
    if delay is None:
        return Prediction("timetable")
    return Prediction("live", scheduled_departure + dt.timedelta(seconds=delay), delay)


def snapshot_keys(calls):
    return {
        (c.trip_id, c.service_day, c.start_time if c.start_time is not None else -1) for c in calls
    }
