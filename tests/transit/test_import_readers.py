"""The two stop_times readers (pyarrow and the csv module) load and refuse the same rows."""

import pytest

from transit.importer import import_gtfs
from transit.models import StopTime

from .feeds import basic_feed

pytestmark = pytest.mark.django_db


def broken_feed():
    f = basic_feed()
    f.add_trip(
        "BAD-1",
        route_id="1",
        service_id="WK",
        stops=[
            ("PIER", "08:00:00"),
            ("NOWHERE", "08:10:00"),
            ("HILL", "07:00:00"),
            ("MKT", "8:5:00"),
        ],
    )
    f.add(
        "stop_times.txt",
        trip_id="BAD-1",
        stop_id="PIER",
        stop_sequence=1,
        arrival_time="09:00:00",
        departure_time="09:00:00",
    )
    f.add(
        "stop_times.txt",
        trip_id="GHOST",
        stop_id="PIER",
        stop_sequence="x",
        arrival_time="09:00:00",
        departure_time="09:00:00",
        pickup_type=7,
    )
    f.add_trip(
        "INTERP",
        route_id="1",
        service_id="WK",
        stops=[("PIER", "12:00:00"), ("MKT", ""), ("STN-A", ""), ("HILL", "12:30:00")],
    )
    return f


@pytest.mark.parametrize("reader", ["arrow", "csv"])
def test_readers_agree(reader, settings, tmp_path):
    settings.TRANSIT_IMPORT_READER = reader
    version, report = import_gtfs(
        "district", broken_feed().write_zip(tmp_path / "f.zip"), max_bad_fraction=0.5
    )
    problems = sorted(str(p) for p in report.problems if p.file == "stop_times.txt")
    assert problems == [
        "stop_times.txt:21: stop_id 'NOWHERE' is not in stops.txt",
        "stop_times.txt:22: time goes backwards: 07:00:00 is before the previous stop's departure",
        "stop_times.txt:23: time '8:5:00' is not HH:MM:SS",
        "stop_times.txt:24: stop_sequence 1 appears twice in the trip",
        "stop_times.txt:25: trip_id 'GHOST' is not in trips.txt",
    ]
    rows = StopTime.objects.filter(trip__version=version)
    assert rows.count() == 18 + 1 + 4  # the basic feed, BAD-1's first stop, INTERP
    interpolated = rows.filter(trip__trip_id="INTERP").order_by("stop_sequence")
    assert list(interpolated.values_list("departure", flat=True)) == [43200, 43800, 44400, 45000]
    first = rows.get(trip__trip_id="N1-2510", stop_sequence=1)
    assert (first.arrival, first.departure, first.pickup_type, first.stop_headsign) == (
        90600,
        90600,
        0,
        None,
    )
