"""stop_times.txt through pyarrow: the columnar path for the one file that is millions of rows.

pyarrow's streaming CSV reader parses blocks of the file in C++; ids are resolved to keys,
times parsed and every field checked with vectorised compute functions, so Python touches a
row only for the checks that need the trip's previous row (times that go backwards, repeated
sequences). Good rows go to PostgreSQL as CSV blocks through COPY, or to SQLite in batches.
Memory is one block (a few MB of text) at a time, plus the id maps the importer already holds.

The rules are the same as the row-by-row path in importer.py (the tests run both); bad rows
are reported with their line, counted as header + record number (a quoted field with a line
break inside, which stop_times.txt does not have in practice, would shift the count).
"""

import csv
import io

from django.db import connection, transaction

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import GTFSImportError
from .models import StopTime

BLOCK_BYTES = 8 << 20
TIME_PATTERN = r"^\s*(?P<h>\d{1,3}):(?P<m>[0-5]\d):(?P<s>[0-5]\d)\s*$"
COLUMNS = [
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


def _key_arrays(mapping):
    keys = list(mapping)
    return pa.array(keys, pa.string()), pa.array([mapping[k] for k in keys], pa.int64())


def _seconds(column):
    """Parsed GTFS times (null where empty) and a mask of non-empty values that are invalid."""
    trimmed = pc.utf8_trim_whitespace(column)
    empty = pc.equal(trimmed, "")
    parts = pc.extract_regex(trimmed, TIME_PATTERN)
    h = pc.cast(pc.struct_field(parts, "h"), pa.int32())
    m = pc.cast(pc.struct_field(parts, "m"), pa.int32())
    s = pc.cast(pc.struct_field(parts, "s"), pa.int32())
    seconds = pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(m, 60)), s)
    invalid = pc.and_(pc.invert(empty), pc.is_null(seconds))
    return seconds, pc.fill_null(invalid, False)


def _column(batch, names, name):
    if name in names:
        return batch.column(names.index(name))
    return pa.array([""] * batch.num_rows, pa.string())


class ArrowStopTimes:
    def __init__(self, importer):
        self.trip_keys, self.trip_pks = _key_arrays(importer.trips)
        self.stop_keys, self.stop_pks = _key_arrays(importer.stops)
        self.last = {}  # trip pk -> (highest sequence, its departure)
        self.count = 0
        self.max_departure = None
        self.needs_interpolation = False

    def run(self, source, name, report, progress_stream):
        """Load the file; returns the number of rows loaded."""
        with source.open(name) as raw:
            header = raw.readline().decode("utf-8-sig", errors="replace")
        raw_names = next(csv.reader([header]), [])
        names = [n.strip() for n in raw_names]
        missing = [n for n in ("trip_id", "stop_id", "stop_sequence") if n not in names]
        if missing:
            raise GTFSImportError(f"{name}: required column(s) missing: {', '.join(missing)}")
        # Every column as text, whatever pyarrow would infer; a byte-order mark may stay on
        # the first name, so both spellings are given.
        types = {}
        for raw_name in raw_names:
            types[raw_name] = types["\ufeff" + raw_name] = pa.string()
        reader = pacsv.open_csv(
            progress_stream,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
        names = [n.lstrip("\ufeff").strip() for n in reader.schema.names]
        row_offset = 0
        with _Writer() as writer:
            for batch in reader:
                good = self._batch(batch, names, row_offset, report, name)
                if good.num_rows:
                    writer.write(good)
                    self.count += good.num_rows
                    latest = pc.max(good.column("departure")).as_py()
                    if latest is not None:
                        self.max_departure = max(self.max_departure or 0, latest)
                row_offset += batch.num_rows
        return self.count

    def _batch(self, batch, names, offset, report, name):
        n = batch.num_rows
        problems = [None] * n
        bad = pa.array([False] * n)

        def flag(mask, message_for):
            nonlocal bad
            mask = pc.fill_null(mask, False)
            if not pc.any(mask).as_py():
                return
            fresh = pc.and_(mask, pc.invert(bad))
            for i in pc.indices_nonzero(fresh).to_pylist():
                problems[i] = message_for(i)
            bad = pc.or_(bad, mask)

        trip_raw = pc.utf8_trim_whitespace(_column(batch, names, "trip_id"))
        trip = pc.take(self.trip_pks, pc.index_in(trip_raw, value_set=self.trip_keys))
        flag(pc.is_null(trip), lambda i: f"trip_id {trip_raw[i].as_py()!r} is not in trips.txt")
        stop_raw = pc.utf8_trim_whitespace(_column(batch, names, "stop_id"))
        stop = pc.take(self.stop_pks, pc.index_in(stop_raw, value_set=self.stop_keys))
        flag(pc.is_null(stop), lambda i: f"stop_id {stop_raw[i].as_py()!r} is not in stops.txt")
        seq_raw = pc.utf8_trim_whitespace(_column(batch, names, "stop_sequence"))
        seq_ok = pc.match_substring_regex(seq_raw, r"^\d{1,9}$")
        flag(
            pc.invert(seq_ok),
            lambda i: f"stop_sequence {seq_raw[i].as_py()!r} is not a whole number",
        )
        seq = pc.cast(pc.if_else(seq_ok, seq_raw, "0"), pa.int64())
        arr_text = _column(batch, names, "arrival_time")
        dep_text = _column(batch, names, "departure_time")
        arr, arr_bad = _seconds(arr_text)
        dep, dep_bad = _seconds(dep_text)
        flag(
            arr_bad,
            lambda i: f"time {arr_text[i].as_py().strip()!r} is not HH:MM:SS",
        )
        flag(
            dep_bad,
            lambda i: (
                f"time {_column(batch, names, 'departure_time')[i].as_py()!r} is not HH:MM:SS"
            ),
        )
        arrival = pc.coalesce(arr, dep)
        departure = pc.coalesce(dep, arr)
        flag(pc.less(departure, arrival), lambda i: "departure_time is before arrival_time")
        kinds = pa.array(["", "0", "1", "2", "3"])
        enums = {}
        for column in ("pickup_type", "drop_off_type"):
            raw = pc.utf8_trim_whitespace(_column(batch, names, column))
            flag(
                pc.invert(pc.is_in(raw, value_set=kinds)),
                lambda i: "pickup_type or drop_off_type is not 0-3",
            )
            enums[column] = pc.cast(
                pc.if_else(pc.is_in(raw, value_set=kinds[1:]), raw, "0"), pa.int16()
            )
        dist_raw = pc.utf8_trim_whitespace(_column(batch, names, "shape_dist_traveled"))
        dist_ok = pc.match_substring_regex(dist_raw, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        flag(
            pc.and_(pc.invert(dist_ok), pc.not_equal(dist_raw, "")),
            lambda i: f"shape_dist_traveled {dist_raw[i].as_py()!r} is not a number",
        )
        dist = pc.cast(pc.if_else(dist_ok, dist_raw, pa.scalar(None, pa.string())), pa.float64())
        tp_raw = pc.utf8_trim_whitespace(_column(batch, names, "timepoint"))
        timepoint = pc.cast(
            pc.if_else(
                pc.is_in(tp_raw, value_set=pa.array(["0", "1"])),
                tp_raw,
                pa.scalar(None, pa.string()),
            ),
            pa.int16(),
        )
        headsign = pc.utf8_trim_whitespace(_column(batch, names, "stop_headsign"))
        headsign = pc.if_else(pc.equal(headsign, ""), pa.scalar(None, pa.string()), headsign)

        # The checks that need the trip's previous row, in file order (as the row path does).
        last = self.last
        bad_list = bad.to_pylist()
        for i, (t, q, a, d) in enumerate(
            zip(
                trip.to_pylist(),
                seq.to_pylist(),
                arrival.to_pylist(),
                departure.to_pylist(),
                strict=True,
            )
        ):
            if bad_list[i]:
                continue
            prev = last.get(t)
            if prev is not None:
                if q == prev[0]:
                    problems[i] = f"stop_sequence {q} appears twice in the trip"
                    bad_list[i] = True
                    continue
                if q > prev[0] and a is not None and prev[1] is not None and a < prev[1]:
                    shown = (arr_text[i].as_py() or dep_text[i].as_py()).strip()
                    problems[i] = (
                        f"time goes backwards: {shown} is before the previous stop's departure"
                    )
                    bad_list[i] = True
                    continue
            if prev is None or q > prev[0]:
                last[t] = (q, d if d is not None else (prev[1] if prev else None))
            if d is None:
                self.needs_interpolation = True
        for i, message in enumerate(problems):
            if message is not None:
                report.bad_row(name, offset + i + 2, message)
        keep = pc.invert(pa.array(bad_list))
        table = pa.table(
            [
                trip,
                stop,
                seq,
                arrival,
                departure,
                headsign,
                enums["pickup_type"],
                enums["drop_off_type"],
                dist,
                timepoint,
            ],
            names=COLUMNS,
        )
        return table.filter(keep)


class _Writer:
    """Writes arrow tables of stop times: COPY … FORMAT csv on PostgreSQL, executemany on
    SQLite (one short transaction per block)."""

    def __enter__(self):
        self.columns = [StopTime._meta.get_field(f).column for f in COLUMNS]
        self.table = StopTime._meta.db_table
        cols = ", ".join(f'"{c}"' for c in self.columns)
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            self._cursor = connection.connection.cursor()
            self._cm = self._cursor.copy(
                f'COPY "{self.table}" ({cols}) FROM STDIN WITH (FORMAT csv)'
            )
            self._copy = self._cm.__enter__()
        else:
            self._copy = None
            marks = ", ".join("?" for _ in self.columns)
            self._sql = f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})'
        return self

    def write(self, table):
        if self._copy is not None:
            buffer = io.BytesIO()
            pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
            self._copy.write(buffer.getvalue())
            return
        rows = zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True)
        with transaction.atomic():
            connection.ensure_connection()
            connection.connection.executemany(self._sql, rows)

    def __exit__(self, exc_type, exc, tb):
        if self._copy is not None:
            try:
                self._cm.__exit__(exc_type, exc, tb)
            finally:
                self._cursor.close()
        return False
