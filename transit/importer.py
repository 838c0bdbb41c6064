"""Import a GTFS feed as a new version, beside the live one, and swap it in.

    version, report = import_gtfs("district", "/path/to/gtfs.zip", progress=True)

Files are read as streams, one row at a time; rows go to the database through COPY
(PostgreSQL) or batched inserts (SQLite), see bulk.py. What the importer keeps in memory is
bounded by the number of stops, routes, services and trips (to resolve references), never by
the number of stop times.

Bad rows are reported with their file and line and left out; the feed is refused when a
required file is missing, nothing usable is left, or more than `max_bad_fraction` of the rows
are bad. A refused or failed import deletes what it built and leaves the live version alone.
"""

import csv
import io
import logging
import time
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import partitions
from .bulk import BulkLoader
from .errors import GTFSImportError
from .gtfs_source import SourceError, open_source
from .models import (
    Agency,
    Feed,
    FeedVersion,
    Frequency,
    Level,
    Pathway,
    Route,
    Service,
    ServiceException,
    Shape,
    Stop,
    StopTime,
    Transfer,
    Translation,
    Trip,
)
from .services import search_key

logger = logging.getLogger(__name__)

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
MAX_PROBLEMS_KEPT = 200
WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

csv.field_size_limit(1 << 24)


@dataclass
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    loaded: Counter = field(default_factory=Counter)
    bad: Counter = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0

    def bad_row(self, file, line, message):
        self.bad[file] += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(file, line, message))

    def warn(self, file, message):
        if len(self.warnings) < MAX_PROBLEMS_KEPT:
            self.warnings.append(Problem(file, None, message))

    @property
    def total_rows(self):
        return sum(self.loaded.values()) + sum(self.bad.values())

    @property
    def total_bad(self):
        return sum(self.bad.values())

    def as_json(self):
        return {
            "loaded": dict(self.loaded),
            "bad": dict(self.bad),
            "problems": [str(p) for p in self.problems],
            "warnings": [str(p) for p in self.warnings],
            "seconds": round(self.seconds, 1),
        }


# Field parsers: each raises ValueError with a message a publisher understands -----------------
def parse_time(value):
    """'25:10:00' -> 90600 seconds since noon minus 12 h; '' -> None."""
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 3 or len(parts[1]) != 2 or len(parts[2]) != 2:
        raise ValueError(f"time {value!r} is not HH:MM:SS")
    try:
        h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(f"time {value!r} is not HH:MM:SS") from None
    if h < 0 or not 0 <= m < 60 or not 0 <= s < 60 or h > 168:
        raise ValueError(f"time {value!r} is out of range")
    return h * 3600 + m * 60 + s


def parse_date(value, name):
    if len(value) != 8 or not value.isdigit():
        raise ValueError(f"{name} {value!r} is not a date (YYYYMMDD)")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYYMMDD)") from None


def parse_int(value, name, default=None, allowed=None):
    if value == "":
        if default is None:
            raise ValueError(f"{name} is required")
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a whole number") from None
    if allowed is not None and number not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {sorted(allowed)}")
    return number


def parse_float(value, name, required=False, low=None, high=None):
    if value == "":
        if required:
            raise ValueError(f"{name} is required")
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} {value!r} is out of range")
    return number


def parse_timezone(value, name):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name} {value!r} is not a known time zone") from None
    return value


def parse_color(value, name):
    if value == "":
        return ""
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"{name} {value!r} is not a six-digit hex colour")
    return value.upper()


# Reading ----------------------------------------------------------------------------------------
class _Counting(io.RawIOBase):
    """Counts bytes read from a member file for the progress bar."""

    def __init__(self, stream, bar):
        self.stream = stream
        self.bar = bar

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if self.bar is not None:
            self.bar.update(n)
        return n


class Table:
    """One GTFS file: `cols["stop_id"]` is the column index or None; iterate for
    (line, row) with rows padded to the header's length."""

    def __init__(self, source, name, progress):
        self.name = name
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(
                total=source.size(name),
                unit="B",
                unit_scale=True,
                desc=name,
                leave=False,
                mininterval=0.5,
            )
        raw = source.open(name)
        self._raw = raw
        buffered = io.BufferedReader(_Counting(raw, self.bar), 1 << 20)
        self.text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
        self.reader = csv.reader(self.text)
        header = next(self.reader, [])
        self.header = [h.strip() for h in header]
        self.width = len(self.header)
        self.cols = {h: i for i, h in enumerate(self.header)}

    def col(self, name):
        return self.cols.get(name)

    def missing(self, *names):
        return [n for n in names if n not in self.cols]

    def __iter__(self):
        reader = self.reader
        width = self.width
        for row in reader:
            if len(row) < width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                row = row + [""] * (width - len(row))
            yield reader.line_num, row

    def close(self):
        if self.bar is not None:
            self.bar.close()
        self.text.close()
        self._raw.close()


def _getter(table, name):
    """A function returning the stripped value of column `name` of a row ('' if absent)."""
    index = table.col(name)
    if index is None:
        return lambda row: ""
    return lambda row: row[index].strip()


# The import ------------------------------------------------------------------------------------
class _Importer:
    def __init__(self, version, source, report, progress):
        self.version = version
        self.v = version.pk
        self.source = source
        self.report = report
        self.progress = progress
        self.names = source.names()
        self.agencies = {}
        self.default_agency = None
        self.levels = {}
        self.stops = {}
        self.routes = {}
        self.services = {}
        self.trips = {}
        self.shape_ids = set()
        self.timezones = set()

    # helpers
    def table(self, name):
        return Table(self.source, name, self.progress)

    def rows(self, table, required=()):
        missing = table.missing(*required)
        if missing:
            raise GTFSImportError(f"{table.name}: required column(s) missing: {', '.join(missing)}")
        return iter(table)

    def _ids(self, model, gtfs_field):
        return dict(
            model.objects.filter(version_id=self.v).values_list(gtfs_field, "pk").iterator(50_000)
        )

    def run(self):
        missing = [name for name in REQUIRED_FILES if name not in self.names]
        if "calendar.txt" not in self.names and "calendar_dates.txt" not in self.names:
            missing.append("calendar.txt or calendar_dates.txt")
        if missing:
            raise GTFSImportError(f"required file(s) missing: {', '.join(missing)}")
        self.load_feed_info()
        self.load_agencies()
        self.load_levels()
        self.load_stops()
        self.load_routes()
        self.load_calendar()
        self.load_shapes()
        self.load_trips()
        self.load_stop_times()
        self.load_frequencies()
        self.load_transfers()
        self.load_pathways()
        self.load_translations()
        self.finish()

    # feed_info.txt
    def load_feed_info(self):
        name = "feed_info.txt"
        if name not in self.names:
            return
        table = self.table(name)
        get = {n: _getter(table, n) for n in table.cols}
        version = self.version
        for line, row in table:
            values = {n: g(row) for n, g in get.items()}
            version.default_language = (
                values.get("default_lang") or values.get("feed_lang") or ""
            )[:20]
            version.publisher_version = values.get("feed_version", "")[:100]
            try:
                for column in ("feed_start_date", "feed_end_date"):
                    if values.get(column):
                        setattr(version, column, parse_date(values[column], column))
            except ValueError as exc:
                self.report.bad_row(name, line, str(exc))
                continue
            self.report.loaded[name] += 1
            break
        table.close()
        version.save()

    def load_agencies(self):
        name = "agency.txt"
        table = self.table(name)
        g = {
            n: _getter(table, n)
            for n in (
                "agency_id",
                "agency_name",
                "agency_url",
                "agency_timezone",
                "agency_lang",
                "agency_phone",
            )
        }
        with BulkLoader(
            Agency, ["version", "agency_id", "name", "url", "timezone", "lang", "phone"]
        ) as load:
            seen = set()
            for line, row in self.rows(table, ("agency_name", "agency_timezone")):
                try:
                    agency_id = g["agency_id"](row)
                    if agency_id in seen:
                        raise ValueError(f"agency_id {agency_id!r} appears twice")
                    agency_name = g["agency_name"](row)
                    if not agency_name:
                        raise ValueError("agency_name is required")
                    tz = parse_timezone(g["agency_timezone"](row), "agency_timezone")
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                seen.add(agency_id)
                self.timezones.add(tz)
                load.add(
                    (
                        self.v,
                        agency_id,
                        agency_name,
                        g["agency_url"](row)[:500],
                        tz,
                        g["agency_lang"](row)[:20],
                        g["agency_phone"](row)[:60],
                    )
                )
        table.close()
        self.report.loaded[name] = load.count
        if not load.count:
            raise GTFSImportError("agency.txt: no usable agency")
        if len(self.timezones) > 1:
            self.report.warn(
                name,
                "agencies have different time zones; each agency's own zone is used for its trips",
            )
        self.agencies = self._ids(Agency, "agency_id")
        if len(self.agencies) == 1:
            self.default_agency = next(iter(self.agencies.values()))

    def load_levels(self):
        name = "levels.txt"
        if name not in self.names:
            return
        table = self.table(name)
        g = {n: _getter(table, n) for n in ("level_id", "level_index", "level_name")}
        with BulkLoader(Level, ["version", "level_id", "level_index", "name"]) as load:
            for line, row in self.rows(table, ("level_id", "level_index")):
                try:
                    level_id = g["level_id"](row)
                    if not level_id:
                        raise ValueError("level_id is required")
                    index = parse_float(g["level_index"](row), "level_index", required=True)
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                load.add((self.v, level_id, index, g["level_name"](row)[:200]))
        table.close()
        self.report.loaded[name] = load.count
        self.levels = self._ids(Level, "level_id")

    def load_stops(self):
        name = "stops.txt"
        table = self.table(name)
        cols = (
            "stop_id",
            "stop_code",
            "stop_name",
            "stop_desc",
            "stop_lat",
            "stop_lon",
            "zone_id",
            "location_type",
            "parent_station",
            "stop_timezone",
            "wheelchair_boarding",
            "platform_code",
            "level_id",
        )
        g = {n: _getter(table, n) for n in cols}
        parents = []  # (stop_id, parent_station, line): resolved once every stop is in
        seen = set()
        fields = [
            "version",
            "stop_id",
            "code",
            "name",
            "description",
            "lat",
            "lon",
            "zone_id",
            "location_type",
            "timezone",
            "wheelchair_boarding",
            "platform_code",
            "level",
            "search_text",
        ]
        with BulkLoader(Stop, fields) as load:
            for line, row in self.rows(table, ("stop_id",)):
                try:
                    stop_id = g["stop_id"](row)
                    if not stop_id:
                        raise ValueError("stop_id is required")
                    if stop_id in seen:
                        raise ValueError(f"stop_id {stop_id!r} appears twice")
                    location_type = parse_int(
                        g["location_type"](row), "location_type", 0, {0, 1, 2, 3, 4}
                    )
                    located = location_type in (0, 1, 2)
                    stop_name = g["stop_name"](row)
                    if located and not stop_name:
                        raise ValueError("stop_name is required")
                    lat = parse_float(g["stop_lat"](row), "stop_lat", located, -90, 90)
                    lon = parse_float(g["stop_lon"](row), "stop_lon", located, -180, 180)
                    tz = g["stop_timezone"](row)
                    if tz:
                        parse_timezone(tz, "stop_timezone")
                    wheelchair = parse_int(
                        g["wheelchair_boarding"](row), "wheelchair_boarding", 0, {0, 1, 2}
                    )
                    level_id = g["level_id"](row)
                    level = self.levels.get(level_id) if level_id else None
                    if level_id and level is None:
                        self.report.warn(name, f"stop {stop_id}: unknown level_id {level_id!r}")
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                seen.add(stop_id)
                parent = g["parent_station"](row)
                if parent:
                    parents.append((stop_id, parent, line))
                load.add(
                    (
                        self.v,
                        stop_id,
                        g["stop_code"](row)[:50],
                        stop_name[:300],
                        g["stop_desc"](row),
                        lat,
                        lon,
                        g["zone_id"](row)[:100],
                        location_type,
                        tz,
                        wheelchair,
                        g["platform_code"](row)[:50],
                        level,
                        search_key(stop_name),
                    )
                )
        table.close()
        self.stops = self._ids(Stop, "stop_id")
        self.report.loaded[name] = load.count
        updates = []
        for stop_id, parent, line in parents:
            parent_pk = self.stops.get(parent)
            if parent_pk is None:
                self.report.warn(name, f"line {line}: parent_station {parent!r} is not a stop")
                continue
            updates.append((parent_pk, self.stops[stop_id]))
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(updates), 5000):
                cursor.executemany(
                    f"UPDATE {Stop._meta.db_table} SET parent_id = %s WHERE id = %s",
                    updates[start : start + 5000],
                )

    def load_routes(self):
        name = "routes.txt"
        table = self.table(name)
        cols = (
            "route_id",
            "agency_id",
            "route_short_name",
            "route_long_name",
            "route_desc",
            "route_type",
            "route_url",
            "route_color",
            "route_text_color",
            "route_sort_order",
        )
        g = {n: _getter(table, n) for n in cols}
        fields = [
            "version",
            "route_id",
            "agency",
            "short_name",
            "long_name",
            "description",
            "route_type",
            "url",
            "color",
            "text_color",
            "sort_order",
        ]
        seen = set()
        with BulkLoader(Route, fields) as load:
            for line, row in self.rows(table, ("route_id", "route_type")):
                try:
                    route_id = g["route_id"](row)
                    if not route_id:
                        raise ValueError("route_id is required")
                    if route_id in seen:
                        raise ValueError(f"route_id {route_id!r} appears twice")
                    agency_id = g["agency_id"](row)
                    agency = self.agencies.get(agency_id) if agency_id else self.default_agency
                    if agency is None:
                        raise ValueError(
                            f"agency_id {agency_id!r} is not in agency.txt"
                            if agency_id
                            else "agency_id is required when the feed has several agencies"
                        )
                    short, long = g["route_short_name"](row), g["route_long_name"](row)
                    if not short and not long:
                        raise ValueError("route_short_name or route_long_name is required")
                    route_type = parse_int(g["route_type"](row), "route_type")
                    color = parse_color(g["route_color"](row), "route_color")
                    text_color = parse_color(g["route_text_color"](row), "route_text_color")
                    order = g["route_sort_order"](row)
                    sort_order = parse_int(order, "route_sort_order") if order else None
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                seen.add(route_id)
                load.add(
                    (
                        self.v,
                        route_id,
                        agency,
                        short[:100],
                        long[:300],
                        g["route_desc"](row),
                        route_type,
                        g["route_url"](row)[:500],
                        color,
                        text_color,
                        sort_order,
                    )
                )
        table.close()
        self.report.loaded[name] = load.count
        self.routes = self._ids(Route, "route_id")

    def load_calendar(self):
        if "calendar.txt" in self.names:
            name = "calendar.txt"
            table = self.table(name)
            g = {
                n: _getter(table, n)
                for n in ("service_id", "start_date", "end_date", *WEEKDAY_COLUMNS)
            }
            seen = set()
            with BulkLoader(
                Service, ["version", "service_id", "weekdays", "start_date", "end_date"]
            ) as load:
                required = ("service_id", "start_date", "end_date", *WEEKDAY_COLUMNS)
                for line, row in self.rows(table, required):
                    try:
                        service_id = g["service_id"](row)
                        if not service_id:
                            raise ValueError("service_id is required")
                        if service_id in seen:
                            raise ValueError(f"service_id {service_id!r} appears twice")
                        mask = 0
                        for bit, day in enumerate(WEEKDAY_COLUMNS):
                            if parse_int(g[day](row), day, None, {0, 1}):
                                mask |= 1 << bit
                        start = parse_date(g["start_date"](row), "start_date")
                        end = parse_date(g["end_date"](row), "end_date")
                        if end < start:
                            raise ValueError("end_date is before start_date")
                    except ValueError as exc:
                        self.report.bad_row(name, line, str(exc))
                        continue
                    seen.add(service_id)
                    load.add((self.v, service_id, mask, start, end))
            table.close()
            self.report.loaded[name] = load.count
            self.services = self._ids(Service, "service_id")
        if "calendar_dates.txt" in self.names:
            self.add_date_only_services()
            name = "calendar_dates.txt"
            table = self.table(name)
            g = {n: _getter(table, n) for n in ("service_id", "date", "exception_type")}
            seen = set()
            fields = ["version", "service", "date", "exception_type"]
            with BulkLoader(ServiceException, fields) as load:
                for line, row in self.rows(table, ("service_id", "date", "exception_type")):
                    try:
                        service_id = g["service_id"](row)
                        service = self.services.get(service_id)
                        if service is None:
                            raise ValueError("service_id is required")
                        day = parse_date(g["date"](row), "date")
                        kind = parse_int(g["exception_type"](row), "exception_type", None, {1, 2})
                        if (service_id, day) in seen:
                            raise ValueError(f"service {service_id!r} on {day} appears twice")
                    except ValueError as exc:
                        self.report.bad_row(name, line, str(exc))
                        continue
                    seen.add((service_id, day))
                    load.add((self.v, service, day, kind))
            table.close()
            self.report.loaded[name] = load.count
        if not self.services:
            raise GTFSImportError("no usable service in calendar.txt or calendar_dates.txt")

    def add_date_only_services(self):
        """Services defined by calendar_dates.txt alone, created before its rows are loaded
        (a first pass over the file: its rows must not wait in memory)."""
        table = self.table("calendar_dates.txt")
        get = _getter(table, "service_id")
        new = {get(row) for _line, row in table} - set(self.services) - {""}
        table.close()
        Service.objects.bulk_create(
            [Service(version_id=self.v, service_id=sid[:200]) for sid in sorted(new)],
            batch_size=1000,
        )
        if new:
            self.services = self._ids(Service, "service_id")

    def load_shapes(self):
        name = "shapes.txt"
        if name not in self.names:
            return
        table = self.table(name)
        g = {
            n: _getter(table, n)
            for n in (
                "shape_id",
                "shape_pt_lat",
                "shape_pt_lon",
                "shape_pt_sequence",
                "shape_dist_traveled",
            )
        }
        shape_ids = self.shape_ids
        with BulkLoader(
            Shape, ["version", "shape_id", "lat", "lon", "sequence", "dist_traveled"]
        ) as load:
            required = ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence")
            for line, row in self.rows(table, required):
                try:
                    shape_id = g["shape_id"](row)
                    if not shape_id:
                        raise ValueError("shape_id is required")
                    lat = parse_float(g["shape_pt_lat"](row), "shape_pt_lat", True, -90, 90)
                    lon = parse_float(g["shape_pt_lon"](row), "shape_pt_lon", True, -180, 180)
                    seq = parse_int(g["shape_pt_sequence"](row), "shape_pt_sequence")
                    dist = parse_float(g["shape_dist_traveled"](row), "shape_dist_traveled")
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                shape_ids.add(shape_id)
                load.add((self.v, shape_id, lat, lon, seq, dist))
        table.close()
        self.report.loaded[name] = load.count

    def load_trips(self):
        name = "trips.txt"
        table = self.table(name)
        cols = (
            "route_id",
            "service_id",
            "trip_id",
            "trip_headsign",
            "trip_short_name",
            "direction_id",
            "block_id",
            "shape_id",
            "wheelchair_accessible",
            "bikes_allowed",
        )
        g = {n: _getter(table, n) for n in cols}
        fields = [
            "version",
            "trip_id",
            "route",
            "service",
            "headsign",
            "short_name",
            "direction_id",
            "block_id",
            "shape_id",
            "wheelchair_accessible",
            "bikes_allowed",
            "has_frequencies",
        ]
        seen = set()
        check_shapes = "shapes.txt" in self.names
        unknown_shapes = 0
        with BulkLoader(Trip, fields) as load:
            for line, row in self.rows(table, ("route_id", "service_id", "trip_id")):
                try:
                    trip_id = g["trip_id"](row)
                    if not trip_id:
                        raise ValueError("trip_id is required")
                    if trip_id in seen:
                        raise ValueError(f"trip_id {trip_id!r} appears twice")
                    route = self.routes.get(g["route_id"](row))
                    if route is None:
                        raise ValueError(f"route_id {g['route_id'](row)!r} is not in routes.txt")
                    service = self.services.get(g["service_id"](row))
                    if service is None:
                        raise ValueError(
                            f"service_id {g['service_id'](row)!r} is not in calendar.txt or "
                            "calendar_dates.txt"
                        )
                    direction = g["direction_id"](row)
                    direction = (
                        parse_int(direction, "direction_id", None, {0, 1}) if direction else None
                    )
                    wheelchair = parse_int(
                        g["wheelchair_accessible"](row), "wheelchair_accessible", 0, {0, 1, 2}
                    )
                    bikes = parse_int(g["bikes_allowed"](row), "bikes_allowed", 0, {0, 1, 2})
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                shape_id = g["shape_id"](row)
                if shape_id and check_shapes and shape_id not in self.shape_ids:
                    unknown_shapes += 1
                seen.add(trip_id)
                load.add(
                    (
                        self.v,
                        trip_id,
                        route,
                        service,
                        g["trip_headsign"](row)[:300],
                        g["trip_short_name"](row)[:100],
                        direction,
                        g["block_id"](row)[:200],
                        shape_id[:200],
                        wheelchair,
                        bikes,
                        False,
                    )
                )
        table.close()
        if unknown_shapes:
            self.report.warn(name, f"{unknown_shapes} trips name a shape_id not in shapes.txt")
        self.report.loaded[name] = load.count
        self.trips = self._ids(Trip, "trip_id")
        if not self.trips:
            raise GTFSImportError("trips.txt: no usable trip")

    def load_stop_times(self):
        """The bulk of every feed: through pyarrow (TRANSIT_IMPORT_READER "arrow", measured
        several times faster) or row by row with the csv module ("csv")."""
        name = "stop_times.txt"
        if settings.TRANSIT_IMPORT_READER == "arrow":
            from .arrow_stop_times import ArrowStopTimes

            bar = None
            if self.progress:
                from tqdm import tqdm

                bar = tqdm(
                    total=self.source.size(name),
                    unit="B",
                    unit_scale=True,
                    desc=name,
                    leave=False,
                    mininterval=0.5,
                )
            raw = self.source.open(name)
            try:
                loader = ArrowStopTimes(self)
                with partitions.loading(self.v) as (table, freeze):
                    count = loader.run(
                        self.source,
                        name,
                        self.report,
                        io.BufferedReader(_Counting(raw, bar), 1 << 20),
                        table,
                        freeze,
                    )
                    if not count:
                        raise GTFSImportError("stop_times.txt: no usable stop time")
            finally:
                raw.close()
                if bar is not None:
                    bar.close()
            self.report.loaded[name] = count
            self.version.max_departure = loader.max_departure
            if loader.needs_interpolation:
                self.interpolate_times()
            return
        self.load_stop_times_rows()

    def load_stop_times_rows(self):
        name = "stop_times.txt"
        table = self.table(name)
        missing = table.missing("trip_id", "stop_id", "stop_sequence")
        if missing:
            raise GTFSImportError(f"{name}: required column(s) missing: {', '.join(missing)}")
        col = table.col
        i_trip, i_stop, i_seq = col("trip_id"), col("stop_id"), col("stop_sequence")
        i_arr, i_dep = col("arrival_time"), col("departure_time")
        i_head, i_pick, i_drop = col("stop_headsign"), col("pickup_type"), col("drop_off_type")
        i_dist, i_tp = col("shape_dist_traveled"), col("timepoint")
        trips, stops, report = self.trips, self.stops, self.report
        # Per trip: the highest stop_sequence seen and its departure, to catch times that go
        # backwards and repeated sequences (bounded by the number of trips).
        last = {}
        fields = [
            "version",
            "trip",
            "stop",
            "stop_sequence",
            "arrival",
            "departure",
            "stop_headsign",
            "pickup_type",
            "drop_off_type",
            "shape_dist_traveled",
            "timepoint",
        ]
        needs_interpolation = False
        latest = 0
        ok_types = {"": 0, "0": 0, "1": 1, "2": 2, "3": 3}
        v = self.v
        with (
            partitions.loading(v) as (table_name, _freeze),
            BulkLoader(StopTime, fields, table=table_name) as load,
        ):
            add = load.add
            for line, row in table:
                try:
                    trip = trips.get(row[i_trip].strip())
                    if trip is None:
                        raise ValueError(f"trip_id {row[i_trip].strip()!r} is not in trips.txt")
                    stop = stops.get(row[i_stop].strip())
                    if stop is None:
                        raise ValueError(f"stop_id {row[i_stop].strip()!r} is not in stops.txt")
                    try:
                        seq = int(row[i_seq])
                    except ValueError:
                        raise ValueError(
                            f"stop_sequence {row[i_seq]!r} is not a whole number"
                        ) from None
                    if seq < 0:
                        raise ValueError("stop_sequence must not be negative")
                    arr = parse_time(row[i_arr].strip()) if i_arr is not None else None
                    dep = parse_time(row[i_dep].strip()) if i_dep is not None else None
                    if arr is None:
                        arr = dep
                    elif dep is None:
                        dep = arr
                    elif dep < arr:
                        raise ValueError("departure_time is before arrival_time")
                    prev = last.get(trip)
                    if prev is not None:
                        if seq == prev[0]:
                            raise ValueError(f"stop_sequence {seq} appears twice in the trip")
                        if (
                            seq > prev[0]
                            and arr is not None
                            and prev[1] is not None
                            and (arr < prev[1])
                        ):
                            raise ValueError(
                                f"time goes backwards: {row[i_arr] or row[i_dep]} is before "
                                "the previous stop's departure"
                            )
                    if prev is None or seq > prev[0]:
                        last[trip] = (seq, dep if dep is not None else (prev and prev[1]))
                    if dep is None:
                        needs_interpolation = True
                    elif dep > latest:
                        latest = dep
                    pick = ok_types[row[i_pick].strip()] if i_pick is not None else 0
                    drop = ok_types[row[i_drop].strip()] if i_drop is not None else 0
                    headsign = row[i_head].strip() or None if i_head is not None else None
                    dist = row[i_dist].strip() if i_dist is not None else ""
                    dist = float(dist) if dist else None
                    tp = row[i_tp].strip() if i_tp is not None else ""
                    tp = int(tp) if tp in ("0", "1") else None
                except KeyError:
                    report.bad_row(name, line, "pickup_type or drop_off_type is not 0-3")
                    continue
                except ValueError as exc:
                    report.bad_row(name, line, str(exc))
                    continue
                add((v, trip, stop, seq, arr, dep, headsign, pick, drop, dist, tp))
            if not load.count:
                raise GTFSImportError("stop_times.txt: no usable stop time")
        table.close()
        report.loaded[name] = load.count
        self.version.max_departure = latest
        if needs_interpolation:
            self.interpolate_times()

    def interpolate_times(self):
        """Give stops without times (non-timepoints) times between the timepoints around them,
        by shape distance where the feed gives it, else evenly by position."""
        st = StopTime._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT trip_id FROM {st} WHERE version_id = %s AND departure IS NULL",
                [self.v],
            )
            trip_ids = [r[0] for r in cursor.fetchall()]
        untimed_trips = 0
        for start in range(0, len(trip_ids), 500):
            chunk = trip_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, trip_id, departure, shape_dist_traveled FROM {st} "
                    f"WHERE version_id = %s AND trip_id IN ({marks}) "
                    "ORDER BY trip_id, stop_sequence",
                    [self.v, *chunk],
                )
                rows = cursor.fetchall()
            updates = []
            i = 0
            while i < len(rows):
                j = i
                while j < len(rows) and rows[j][1] == rows[i][1]:
                    j += 1
                trip_rows = rows[i:j]
                i = j
                filled = _interpolate(trip_rows)
                if filled is None:
                    untimed_trips += 1
                    continue
                updates.extend(filled)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {st} SET arrival = %s, departure = %s "
                    "WHERE version_id = %s AND id = %s",
                    [(a, d, self.v, pk) for a, d, pk in updates],
                )
        if untimed_trips:
            self.report.warn(
                "stop_times.txt",
                f"{untimed_trips} trips have no time at their first or last stop and are not shown",
            )

    def load_frequencies(self):
        name = "frequencies.txt"
        if name not in self.names:
            return
        table = self.table(name)
        g = {
            n: _getter(table, n)
            for n in ("trip_id", "start_time", "end_time", "headway_secs", "exact_times")
        }
        trip_pks = set()
        with BulkLoader(
            Frequency, ["version", "trip", "start_time", "end_time", "headway_secs", "exact_times"]
        ) as load:
            required = ("trip_id", "start_time", "end_time", "headway_secs")
            for line, row in self.rows(table, required):
                try:
                    trip = self.trips.get(g["trip_id"](row))
                    if trip is None:
                        raise ValueError(f"trip_id {g['trip_id'](row)!r} is not in trips.txt")
                    start = parse_time(g["start_time"](row))
                    end = parse_time(g["end_time"](row))
                    if start is None or end is None:
                        raise ValueError("start_time and end_time are required")
                    if end <= start:
                        raise ValueError("end_time is not after start_time")
                    headway = parse_int(g["headway_secs"](row), "headway_secs")
                    if headway <= 0:
                        raise ValueError("headway_secs must be positive")
                    exact = parse_int(g["exact_times"](row), "exact_times", 0, {0, 1})
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                trip_pks.add(trip)
                load.add((self.v, trip, start, end, headway, exact))
        table.close()
        self.report.loaded[name] = load.count
        if trip_pks:
            st, trip = StopTime._meta.db_table, Trip._meta.db_table
            freq = Frequency._meta.db_table
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {trip} SET has_frequencies = %s, first_departure = (SELECT "
                    f"MIN(st.departure) FROM {st} st WHERE st.version_id = %s AND "
                    f"st.trip_id = {trip}.id) WHERE id IN "
                    f"(SELECT trip_id FROM {freq} WHERE version_id = %s)",
                    [True, self.v, self.v],
                )
            self.version.has_frequencies = True
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT MAX(f.end_time + st.departure - t.first_departure) FROM {freq} f "
                    f"JOIN {trip} t ON t.id = f.trip_id JOIN {st} st ON st.trip_id = t.id "
                    f"WHERE f.version_id = %s AND st.version_id = %s",
                    [self.v, self.v],
                )
                latest = cursor.fetchone()[0]
            if latest is not None:
                self.version.max_departure = max(self.version.max_departure or 0, latest)

    def load_transfers(self):
        name = "transfers.txt"
        if name not in self.names:
            return
        table = self.table(name)
        cols = (
            "from_stop_id",
            "to_stop_id",
            "from_route_id",
            "to_route_id",
            "from_trip_id",
            "to_trip_id",
            "transfer_type",
            "min_transfer_time",
        )
        g = {n: _getter(table, n) for n in cols}
        with BulkLoader(
            Transfer, ["version", *cols[:6], "transfer_type", "min_transfer_time"]
        ) as load:
            for line, row in self.rows(table, ("transfer_type",)):
                try:
                    for key in ("from_stop_id", "to_stop_id"):
                        if g[key](row) and g[key](row) not in self.stops:
                            raise ValueError(f"{key} {g[key](row)!r} is not in stops.txt")
                    kind = parse_int(
                        g["transfer_type"](row), "transfer_type", 0, {0, 1, 2, 3, 4, 5}
                    )
                    minimum = g["min_transfer_time"](row)
                    minimum = parse_int(minimum, "min_transfer_time") if minimum else None
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                load.add((self.v, *(g[c](row)[:200] for c in cols[:6]), kind, minimum))
        table.close()
        self.report.loaded[name] = load.count

    def load_pathways(self):
        name = "pathways.txt"
        if name not in self.names:
            return
        table = self.table(name)
        cols = (
            "pathway_id",
            "from_stop_id",
            "to_stop_id",
            "pathway_mode",
            "is_bidirectional",
            "traversal_time",
            "signposted_as",
        )
        g = {n: _getter(table, n) for n in cols}
        fields = [
            "version",
            "pathway_id",
            "from_stop_id",
            "to_stop_id",
            "pathway_mode",
            "is_bidirectional",
            "traversal_time",
            "signposted_as",
        ]
        with BulkLoader(Pathway, fields) as load:
            for line, row in self.rows(table, cols[:5]):
                try:
                    for key in ("from_stop_id", "to_stop_id"):
                        if g[key](row) not in self.stops:
                            raise ValueError(f"{key} {g[key](row)!r} is not in stops.txt")
                    mode = parse_int(g["pathway_mode"](row), "pathway_mode", None, set(range(1, 8)))
                    both = parse_int(g["is_bidirectional"](row), "is_bidirectional", None, {0, 1})
                    traversal = g["traversal_time"](row)
                    traversal = parse_int(traversal, "traversal_time") if traversal else None
                except ValueError as exc:
                    self.report.bad_row(name, line, str(exc))
                    continue
                load.add(
                    (
                        self.v,
                        g["pathway_id"](row)[:200],
                        g["from_stop_id"](row),
                        g["to_stop_id"](row),
                        mode,
                        both,
                        traversal,
                        g["signposted_as"](row)[:300],
                    )
                )
        table.close()
        self.report.loaded[name] = load.count

    def load_translations(self):
        name = "translations.txt"
        if name not in self.names:
            return
        table = self.table(name)
        if "table_name" not in table.cols:
            self.report.warn(name, "the pre-2019 translations format is not read")
            table.close()
            return
        cols = (
            "table_name",
            "field_name",
            "language",
            "translation",
            "record_id",
            "record_sub_id",
            "field_value",
        )
        g = {n: _getter(table, n) for n in cols}
        with BulkLoader(Translation, ["version", *cols]) as load:
            for line, row in self.rows(table, cols[:4]):
                values = [g[c](row) for c in cols]
                if not all(values[:4]):
                    self.report.bad_row(
                        name, line, "table_name, field_name, language and translation are required"
                    )
                    continue
                if not values[4] and not values[6] and values[0] != "feed_info":
                    self.report.bad_row(name, line, "record_id or field_value is required")
                    continue
                # Languages are matched case-insensitively (zh-Hant, zh-hant): stored lowercase.
                load.add(
                    (
                        self.v,
                        values[0][:40],
                        values[1][:60],
                        values[2][:20].lower(),
                        values[3],
                        values[4][:200],
                        values[5][:200],
                        values[6],
                    )
                )
        table.close()
        self.report.loaded[name] = load.count
        self.index_stop_names()

    def index_stop_names(self):
        """Stop search text: the name in every language translations.txt gives."""
        by_id, by_value = {}, {}
        rows = Translation.objects.filter(
            version_id=self.v, table_name="stops", field_name="stop_name"
        ).values_list("record_id", "field_value", "translation")
        for record_id, value, text in rows.iterator(10_000):
            if record_id:
                by_id.setdefault(record_id, []).append(text)
            elif value:
                by_value.setdefault(value, []).append(text)
        if not by_id and not by_value:
            return
        updates = []
        stops = Stop.objects.filter(version_id=self.v).values_list("pk", "stop_id", "name")
        for pk, stop_id, stop_name in stops.iterator(10_000):
            extra = by_id.get(stop_id, []) + by_value.get(stop_name, [])
            if extra:
                updates.append((search_key(" ".join([stop_name, *extra])), pk))
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(updates), 5000):
                cursor.executemany(
                    f"UPDATE {Stop._meta.db_table} SET search_text = %s WHERE id = %s",
                    updates[start : start + 5000],
                )

    def finish(self):
        self.version.summary = self.report.as_json()
        self.version.save()
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner: millions of new rows would otherwise be planned
            # as an empty table until autovacuum gets to them (seconds instead of milliseconds
            # for a departure board, measured). Of the stop times, only this version's
            # partition: queries name the version, so that is what the planner reads.
            tables = [partitions.table_name(self.v)] + [
                m._meta.db_table
                for m in (
                    Trip,
                    Stop,
                    Route,
                    Service,
                    ServiceException,
                    Frequency,
                    Translation,
                )
            ]
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(tables)}")


def _interpolate(rows):
    """rows: [(id, trip, departure or None, dist or None)] of one trip in sequence order.
    Returns [(arrival, departure, id)] for the untimed rows, or None when the trip has no
    time at its first or last stop."""
    if rows[0][2] is None or rows[-1][2] is None:
        return None
    use_dist = all(r[3] is not None for r in rows)
    out = []
    previous = 0
    for index, row in enumerate(rows):
        if row[2] is not None:
            previous = index
            continue
        following = next(k for k in range(index + 1, len(rows)) if rows[k][2] is not None)
        t0, t1 = rows[previous][2], rows[following][2]
        if use_dist:
            d0, d1 = rows[previous][3], rows[following][3]
            share = (row[3] - d0) / (d1 - d0) if d1 != d0 else 0
        else:
            share = (index - previous) / (following - previous)
        value = round(t0 + (t1 - t0) * share)
        out.append((value, value, row[0]))
    return out


# Versions ---------------------------------------------------------------------------------------
VERSIONED_MODELS = (
    Frequency,
    ServiceException,
    Translation,
    Shape,
    Transfer,
    Pathway,
    Level,
    Route,
    Service,
    Stop,
    Agency,
)


def delete_version_rows(version_id):
    """Delete every row of a version (its stop times table, see partitions.py). Returns False,
    deleting nothing else, when the stop times could not be deleted now."""
    if not partitions.drop(version_id):
        return False
    for model in (Trip, *VERSIONED_MODELS):
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE version_id = %s", [version_id]
            )
    return True


def cleanup_versions(feed, keep=None):
    """Delete failed imports, imports abandoned for a day, and replaced versions beyond the
    newest `keep` (TRANSIT_KEEP_OLD_VERSIONS)."""
    keep = settings.TRANSIT_KEEP_OLD_VERSIONS if keep is None else keep
    stale = timezone.now() - timedelta(days=1)
    doomed = list(
        FeedVersion.objects.filter(feed=feed, status=FeedVersion.Status.FAILED).values_list(
            "pk", flat=True
        )
    ) + list(
        FeedVersion.objects.filter(
            feed=feed, status=FeedVersion.Status.BUILDING, started_at__lt=stale
        ).values_list("pk", flat=True)
    )
    retired = FeedVersion.objects.filter(feed=feed, status=FeedVersion.Status.RETIRED).order_by(
        "-finished_at", "-pk"
    )
    doomed += list(retired.values_list("pk", flat=True)[keep:])
    deleted = 0
    for pk in doomed:
        if delete_version_rows(pk):  # else tried again by the next sweep
            FeedVersion.objects.filter(pk=pk).delete()
            deleted += 1
    partitions.drop_orphans()
    return deleted


def swap_in(version):
    """Make `version` its feed's live version, in one transaction."""
    with transaction.atomic():
        feed = Feed.objects.select_for_update().get(pk=version.feed_id)
        if feed.live_version_id:
            FeedVersion.objects.filter(pk=feed.live_version_id).update(
                status=FeedVersion.Status.RETIRED
            )
        version.status = FeedVersion.Status.LIVE
        version.finished_at = timezone.now()
        version.save(
            update_fields=["status", "finished_at", "summary", "has_frequencies", "max_departure"]
        )
        feed.live_version = version
        feed.save(update_fields=["live_version"])


def import_gtfs(feed_code, location, *, name=None, max_bad_fraction=None, progress=False):
    """Import the feed at `location` (zip, folder or URL) as a new version of `feed_code`.

    Returns (version, report). Raises GTFSImportError (with `.report`) when the feed is
    refused or the import fails; the live version is then untouched and the partial version
    deleted.
    """
    if max_bad_fraction is None:
        max_bad_fraction = settings.TRANSIT_IMPORT_MAX_BAD_FRACTION
    started = time.monotonic()
    feed, _created = Feed.objects.get_or_create(code=feed_code, defaults={"name": name or ""})
    if name and feed.name != name:
        feed.name = name
        feed.save(update_fields=["name"])
    report = ImportReport()
    version = FeedVersion.objects.create(feed=feed, source=str(location)[:500])
    try:
        try:
            with open_source(location) as source:
                _Importer(version, source, report, progress).run()
        except SourceError as exc:
            raise GTFSImportError(str(exc), report) from exc
        report.seconds = time.monotonic() - started
        if report.total_rows and report.total_bad / report.total_rows > max_bad_fraction:
            raise GTFSImportError(
                f"{report.total_bad} of {report.total_rows} rows are bad, more than "
                f"{max_bad_fraction:.1%}: the feed is not used",
                report,
            )
        version.summary = report.as_json()
        swap_in(version)
    except BaseException as exc:
        report.seconds = time.monotonic() - started
        _fail(version, report)
        if isinstance(exc, GTFSImportError):
            exc.report = exc.report or report
            raise
        if isinstance(exc, Exception):
            logger.exception("GTFS import of %s failed", location)
            raise GTFSImportError(f"import failed: {exc}", report) from exc
        raise
    cleanup_versions(feed)
    return version, report


def _fail(version, report):
    try:
        delete_version_rows(version.pk)
        FeedVersion.objects.filter(pk=version.pk).update(
            status=FeedVersion.Status.FAILED, finished_at=timezone.now(), summary=report.as_json()
        )
    except Exception:  # the cleanup sweep of the next import deletes what is left
        logger.exception("Could not clean up failed GTFS version %s", version.pk)
