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
import queue
import threading

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
    """Parsed GTFS times (null where empty) and a mask of non-empty values that are invalid.
    A block of 180,000 rows holds a few thousand distinct times: each is parsed once (the
    regular expression was most of the reader's time) and the results spread by index."""
    encoded = pc.dictionary_encode(column)
    seconds, invalid = _parse_times(encoded.dictionary)
    return pc.take(seconds, encoded.indices), pc.take(invalid, encoded.indices)


def _parse_times(column):
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
    return pc.fill_null(pa.nulls(batch.num_rows, pa.string()), "")


class ArrowStopTimes:
    def __init__(self, importer):
        self.version = importer.v
        self.trip_keys, self.trip_pks = _key_arrays(importer.trips)
        self.stop_keys, self.stop_pks = _key_arrays(importer.stops)
        self.last = {}  # trip pk -> (highest sequence, its departure)
        self.count = 0
        self.max_departure = None
        self.needs_interpolation = False

    def run(self, source, name, report, progress_stream, table, freeze=False):
        """Load the file into `table` (the version's stop times table, see partitions.py;
        `freeze`: COPY may use FREEZE); returns the number of rows loaded."""
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
        with _Writer(table, freeze, self.version) as writer:
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
        problems = {}  # row in the block: message
        bad = pc.fill_null(pa.nulls(n, pa.bool_()), False)

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

        # The checks that need the trip's previous row: at once for a block written trip by
        # trip (as feeds are), else row by row in file order, as the row path does.
        if self._in_order(trip, seq, arrival, departure, bad):
            keep = pc.invert(bad)
        else:
            keep = self._row_by_row(
                trip, seq, arrival, departure, bad, problems, arr_text, dep_text
            )
        for i in sorted(problems):
            report.bad_row(name, offset + i + 2, problems[i])
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

    def _in_order(self, trip, seq, arrival, departure, bad):
        """The trip checks for a block whose good rows come trip by trip, each trip in one
        run, stop_sequence rising within it. Returns False, having changed nothing, when the
        block is not like that or a row breaks a rule (the row-by-row loop then decides);
        True, with the trips' state updated, when every good row passes. Both give the same
        result as the loop for such a block: there every good row's previous row in its trip
        is the row before it, or for a run's first row the state left by earlier blocks."""
        good = pc.invert(bad)
        t, q = trip.filter(good), seq.filter(good)
        a, d = arrival.filter(good), departure.filter(good)
        n = len(t)
        if n == 0:
            return True
        same = pc.equal(t.slice(1), t.slice(0, n - 1))
        if not pc.all(pc.or_(pc.invert(same), pc.greater(q.slice(1), q.slice(0, n - 1)))).as_py():
            return False
        starts = [0, *(i + 1 for i in pc.indices_nonzero(pc.invert(same)).to_pylist())]
        if pc.count_distinct(t).as_py() != len(starts):
            return False  # a trip in two places of the block
        start_rows = zip(
            pc.take(t, starts).to_pylist(),
            pc.take(q, starts).to_pylist(),
            pc.take(a, starts).to_pylist(),
            pc.take(d, starts).to_pylist(),
            strict=True,
        )
        last = self.last
        # Each run's departure so far: its first row's, or the state of earlier blocks; -1
        # for none (times are never negative), so that filling forward stops at each run.
        seeds = []
        for t0, q0, a0, d0 in start_rows:
            prev = last.get(t0)
            if prev is not None:
                if q0 <= prev[0]:
                    return False
                if a0 is not None and prev[1] is not None and a0 < prev[1]:
                    return False
            carried = prev[1] if prev is not None else None
            seeds.append(d0 if d0 is not None else (carried if carried is not None else -1))
        is_start = pa.concat_arrays([pa.array([True]), pc.invert(same)])
        carried = pc.fill_null_forward(pc.replace_with_mask(d, is_start, pa.array(seeds, d.type)))
        before = carried.slice(0, n - 1)
        backwards = pc.and_(
            pc.and_(pc.invert(is_start.slice(1)), pc.greater_equal(before, 0)),
            pc.less(a.slice(1), before),
        )
        if pc.any(pc.fill_null(backwards, False)).as_py():
            return False
        ends = [s - 1 for s in starts[1:]] + [n - 1]
        for t1, q1, d1 in zip(
            pc.take(t, ends).to_pylist(),
            pc.take(q, ends).to_pylist(),
            pc.take(carried, ends).to_pylist(),
            strict=True,
        ):
            last[t1] = (q1, d1 if d1 >= 0 else None)
        if pc.any(pc.is_null(d)).as_py():
            self.needs_interpolation = True
        return True

    def _row_by_row(self, trip, seq, arrival, departure, bad, problems, arr_text, dep_text):
        """The trip checks row by row in file order; returns the mask of rows to keep."""
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
        return pc.invert(pa.array(bad_list))


class _Writer:
    """Writes arrow tables of stop times.

    PostgreSQL: COPY ... FORMAT csv, from a thread of its own, so that turning a block into
    CSV and sending it (both outside the GIL: pyarrow's writer, libpq) overlap with reading
    and checking the next block; at most QUEUED blocks wait in between. `version_id` is the
    table's default (partitions.py). SQLite: executemany, one short transaction per block."""

    QUEUED = 2

    def __init__(self, table, freeze, version_pk):
        self.table = table
        self.freeze = freeze
        self.version_pk = version_pk

    def __enter__(self):
        self.columns = [StopTime._meta.get_field(f).column for f in COLUMNS]
        if connection.vendor == "postgresql":
            cols = ", ".join(f'"{c}"' for c in self.columns)
            options = "FORMAT csv, FREEZE" if self.freeze else "FORMAT csv"
            connection.ensure_connection()
            self._cursor = connection.connection.cursor()
            self._cm = self._cursor.copy(
                f'COPY "{self.table}" ({cols}) FROM STDIN WITH ({options})'
            )
            self._copy = self._cm.__enter__()
            self._queue = queue.Queue(self.QUEUED)
            self._error = None
            self._thread = threading.Thread(target=self._send, name="stop-times-copy", daemon=True)
            self._thread.start()
        else:
            self._copy = None
            version_column = StopTime._meta.get_field("version").column
            cols = ", ".join(f'"{c}"' for c in [version_column, *self.columns])
            marks = ", ".join("?" for _ in range(len(self.columns) + 1))
            self._sql = f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})'
        return self

    def _send(self):
        options = pacsv.WriteOptions(include_header=False)
        while (table := self._queue.get()) is not None:
            if self._error is not None:
                continue  # keep taking blocks, or the reading thread would wait forever
            try:
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, write_options=options)
                self._copy.write(buffer.getbuffer())
            except BaseException as exc:  # handed to the reading thread
                self._error = exc

    def write(self, table):
        if self._copy is not None:
            if self._error is not None:
                raise self._error
            self._queue.put(table)
            return
        columns = [table.column(c).to_pylist() for c in COLUMNS]
        rows = zip([self.version_pk] * table.num_rows, *columns, strict=True)
        with transaction.atomic():
            connection.ensure_connection()
            connection.connection.executemany(self._sql, rows)

    def __exit__(self, exc_type, exc, tb):
        if self._copy is None:
            return False
        self._queue.put(None)
        self._thread.join()
        error = exc if exc is not None else self._error
        try:
            self._cm.__exit__(type(error) if error else None, error, None)
        finally:
            self._cursor.close()
        if exc is None and self._error is not None:
            raise self._error
        return False
