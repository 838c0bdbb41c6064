"""Write small GTFS feeds from Python: the demo feed, the test fixture feeds.

    feed = FeedBuilder()
    feed.add("agency.txt", agency_id="A", agency_name="Bus", agency_url="https://bus.example",
             agency_timezone="Asia/Hong_Kong")
    feed.add_trip("T1", route_id="R1", service_id="WK", stops=[("S1", "08:00:00"), ...])
    feed.write_folder(path)   # or feed.write_zip(path)

Columns of a file are the union of the keys given, in first-seen order.
"""

import csv
import io
import zipfile
from pathlib import Path


class FeedBuilder:
    def __init__(self):
        self.files = {}

    def add(self, file_name, **row):
        self.files.setdefault(file_name, []).append(row)
        return row

    def add_trip(self, trip_id, *, route_id, service_id, stops, **trip_fields):
        """A trip and its stop times; `stops` is [(stop_id, time)] or [(stop_id, arrival,
        departure)] or dicts of stop_times fields; stop_sequence counts 1, 2, 3 ..."""
        self.add(
            "trips.txt", route_id=route_id, service_id=service_id, trip_id=trip_id, **trip_fields
        )
        for sequence, stop in enumerate(stops, start=1):
            if isinstance(stop, dict):
                self.add("stop_times.txt", trip_id=trip_id, **{"stop_sequence": sequence, **stop})
                continue
            stop_id, arrival, *rest = stop
            departure = rest[0] if rest else arrival
            self.add(
                "stop_times.txt",
                trip_id=trip_id,
                arrival_time=arrival,
                departure_time=departure,
                stop_id=stop_id,
                stop_sequence=sequence,
            )

    def translate(self, table, field_name, texts, *, record_id=None, field_value=None):
        """translations.txt rows for one field: `texts` is {language: translation}."""
        for language, text in texts.items():
            self.add(
                "translations.txt",
                table_name=table,
                field_name=field_name,
                language=language,
                translation=text,
                record_id=record_id,
                field_value=field_value,
            )

    def service(self, service_id, days, start_date, end_date):
        """A calendar.txt row; `days` is seven 0/1 characters, Monday first ("1111100")."""
        names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        self.add(
            "calendar.txt",
            service_id=service_id,
            **{name: int(flag) for name, flag in zip(names, days, strict=True)},
            start_date=start_date,
            end_date=end_date,
        )

    def render(self, file_name):
        rows = self.files[file_name]
        columns = []
        for row in rows:
            for key in row:
                if key not in columns:
                    columns.append(key)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        return out.getvalue()

    def write_folder(self, path):
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            (path / name).write_text(self.render(name), encoding="utf-8")
        return path

    def write_zip(self, path):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in self.files:
                archive.writestr(name, self.render(name))
        return Path(path)


# GTFS-realtime ---------------------------------------------------------------------------------
def realtime_message(timestamp):
    """An empty FeedMessage (full dataset) with a header timestamp (Unix seconds)."""
    from google.transit import gtfs_realtime_pb2

    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = gtfs_realtime_pb2.FeedHeader.FULL_DATASET
    message.header.timestamp = int(timestamp)
    return message


def add_trip_update(
    message,
    trip_id,
    *,
    start_date=None,
    start_time=None,
    cancelled=False,
    delay=None,
    stops=(),
    timestamp=None,
):
    """A TripUpdate. `stops` are dicts with stop_sequence and/or stop_id, and any of
    arrival_delay, departure_delay, arrival_time, departure_time (Unix seconds), skipped=True
    or no_data=True."""
    from google.transit import gtfs_realtime_pb2

    TripDescriptor = gtfs_realtime_pb2.TripDescriptor
    StopTimeUpdate = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate
    entity = message.entity.add()
    entity.id = f"tu-{len(message.entity)}-{trip_id}"
    update = entity.trip_update
    update.trip.trip_id = trip_id
    if start_date:
        update.trip.start_date = start_date
    if start_time:
        update.trip.start_time = start_time
    if cancelled:
        update.trip.schedule_relationship = TripDescriptor.CANCELED
    if delay is not None:
        update.delay = delay
    if timestamp:
        update.timestamp = int(timestamp)
    for stop in stops:
        stu = update.stop_time_update.add()
        if "stop_sequence" in stop:
            stu.stop_sequence = stop["stop_sequence"]
        if "stop_id" in stop:
            stu.stop_id = stop["stop_id"]
        if stop.get("skipped"):
            stu.schedule_relationship = StopTimeUpdate.SKIPPED
        if stop.get("no_data"):
            stu.schedule_relationship = StopTimeUpdate.NO_DATA
        for kind in ("arrival", "departure"):
            if f"{kind}_delay" in stop:
                getattr(stu, kind).delay = stop[f"{kind}_delay"]
            if f"{kind}_time" in stop:
                getattr(stu, kind).time = int(stop[f"{kind}_time"])
    return update


def add_alert(
    message,
    alert_id,
    *,
    header,
    description=None,
    url=None,
    periods=(),
    entities=(),
    effect=None,
    cause=None,
    severity=None,
):
    """A service alert. `header`/`description`/`url` are {language: text}; `periods` are
    (start, end) Unix seconds or None; `entities` are dicts of agency_id, route_id, stop_id,
    trip_id, route_type."""
    from google.transit import gtfs_realtime_pb2

    Alert = gtfs_realtime_pb2.Alert
    entity = message.entity.add()
    entity.id = alert_id
    alert = entity.alert
    for start, end in periods:
        period = alert.active_period.add()
        if start:
            period.start = int(start)
        if end:
            period.end = int(end)
    for selector in entities:
        informed = alert.informed_entity.add()
        for key, value in selector.items():
            if key == "trip_id":
                informed.trip.trip_id = value
            else:
                setattr(informed, key, value)
    for target, texts in (
        (alert.header_text, header),
        (alert.description_text, description),
        (alert.url, url),
    ):
        for language, text in (texts or {}).items():
            translated = target.translation.add()
            translated.text = text
            if language:
                translated.language = language
    if effect:
        alert.effect = Alert.Effect.Value(effect)
    if cause:
        alert.cause = Alert.Cause.Value(cause)
    if severity:
        alert.severity_level = Alert.SeverityLevel.Value(severity)
    return alert
