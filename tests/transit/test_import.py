import pytest

from transit.importer import GTFSImportError, import_gtfs
from transit.models import Feed, FeedVersion, Stop, StopTime, Trip

from .feeds import basic_feed

pytestmark = pytest.mark.django_db


def test_import_zip_builds_a_live_version(district):
    feed = Feed.objects.get(code="district")
    assert feed.live_version == district
    assert district.status == FeedVersion.Status.LIVE
    assert district.has_frequencies
    assert StopTime.objects.filter(trip__version=district).count() == 18
    night = StopTime.objects.get(trip__trip_id="N1-2510", stop_sequence=1)
    assert night.departure == 25 * 3600 + 10 * 60
    platform = Stop.objects.get(version=district, stop_id="STN-A")
    assert platform.parent.stop_id == "STN"
    assert "riverside station" in Stop.objects.get(version=district, stop_id="STN").search_text
    assert Trip.objects.get(version=district, trip_id="F-TEMPLATE").first_departure == 0
    assert district.max_departure == 25 * 3600 + 35 * 60  # the night trip's last stop


def test_bad_rows_are_reported_with_file_and_line_and_good_rows_load(tmp_path, db):
    f = basic_feed()
    f.add_trip(
        "BAD-1",
        route_id="1",
        service_id="WK",
        stops=[("PIER", "08:00:00"), ("NOWHERE", "08:10:00"), ("HILL", "07:00:00")],
    )
    f.add("trips.txt", route_id="NO-ROUTE", service_id="WK", trip_id="ORPHAN")
    location = f.write_folder(tmp_path / "feed")
    version, report = import_gtfs("district", location, max_bad_fraction=0.5)
    messages = [str(p) for p in report.problems]
    # stop_times.txt: header line 1, then 18 good rows; the bad trip's rows are lines 20-22.
    assert "stop_times.txt:21: stop_id 'NOWHERE' is not in stops.txt" in messages
    assert any(m.startswith("stop_times.txt:22: time goes backwards") for m in messages)
    assert any(
        m.startswith("trips.txt:") and "'NO-ROUTE' is not in routes.txt" in m for m in messages
    )
    assert report.bad["stop_times.txt"] == 2
    assert StopTime.objects.filter(trip__version=version, trip__trip_id="BAD-1").count() == 1


def test_too_many_bad_rows_refuse_the_feed_and_keep_the_live_one(district, tmp_path):
    f = basic_feed()
    for n in range(10):
        f.add(
            "stop_times.txt",
            trip_id="1-0800",
            stop_id="NOWHERE",
            stop_sequence=100 + n,
            arrival_time="09:00:00",
            departure_time="09:00:00",
        )
    with pytest.raises(GTFSImportError, match="rows are bad"):
        import_gtfs("district", f.write_zip(tmp_path / "worse.zip"))
    feed = Feed.objects.get(code="district")
    assert feed.live_version == district
    assert FeedVersion.objects.filter(feed=feed, status=FeedVersion.Status.FAILED).count() == 1
    assert not Trip.objects.exclude(version=district).exists()


def test_missing_required_file_is_refused(db, tmp_path):
    f = basic_feed()
    del f.files["stops.txt"]
    with pytest.raises(GTFSImportError, match=r"required file\(s\) missing: stops.txt"):
        import_gtfs("district", f.write_folder(tmp_path / "feed"))
    assert Feed.objects.get(code="district").live_version is None


def test_import_failing_halfway_leaves_the_live_feed_unchanged(district, tmp_path, monkeypatch):
    from transit import importer

    def explode(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer._Importer, "load_frequencies", explode)
    f = basic_feed()
    f.add_trip(
        "NEW", route_id="1", service_id="WK", stops=[("PIER", "12:00:00"), ("MKT", "12:10:00")]
    )
    with pytest.raises(GTFSImportError, match="disk full"):
        import_gtfs("district", f.write_zip(tmp_path / "next.zip"))
    feed = Feed.objects.get(code="district")
    assert feed.live_version == district
    # What the failed import had loaded (stops, trips, stop times) is gone again.
    assert not Trip.objects.filter(trip_id="NEW").exists()
    assert StopTime.objects.count() == 18
    assert Stop.objects.exclude(version=district).count() == 0


def test_reimport_swaps_versions_and_cleans_up_old_ones(district, import_feed, settings):
    settings.TRANSIT_KEEP_OLD_VERSIONS = 0
    second = import_feed(basic_feed())
    assert Feed.objects.get(code="district").live_version == second
    assert not FeedVersion.objects.filter(pk=district.pk).exists()
    assert StopTime.objects.count() == 18


def test_several_feeds_coexist(district, import_feed):
    other = import_feed(basic_feed(), code="ferry")
    assert Feed.objects.get(code="district").live_version == district
    assert Feed.objects.get(code="ferry").live_version == other
    assert StopTime.objects.count() == 36


def test_folder_source_and_calendar_dates_only(db, import_feed):
    f = basic_feed()
    del f.files["calendar.txt"]
    f.add("calendar_dates.txt", service_id="WK", date="20260302", exception_type=1)
    f.add("calendar_dates.txt", service_id="WE", date="20260301", exception_type=1)
    version = import_feed(f, as_zip=False)
    assert version.status == FeedVersion.Status.LIVE


def test_non_timepoint_stops_get_interpolated_times(db, import_feed):
    f = basic_feed()
    f.add_trip(
        "INTERP",
        route_id="1",
        service_id="WK",
        stops=[("PIER", "12:00:00"), ("MKT", ""), ("STN-A", ""), ("HILL", "12:30:00")],
    )
    version = import_feed(f)
    times = list(
        StopTime.objects.filter(trip__version=version, trip__trip_id="INTERP")
        .order_by("stop_sequence")
        .values_list("departure", flat=True)
    )
    assert times == [43200, 43800, 44400, 45000]


def test_import_command_prints_a_summary(db, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    location = basic_feed().write_zip(tmp_path / "feed.zip")
    call_command("import_gtfs", "district", str(location), "--no-progress", stdout=out)
    assert "stop_times.txt" in out.getvalue() and "is live" in out.getvalue()
    with pytest.raises(CommandError, match="unchanged"):
        call_command("import_gtfs", "district", str(tmp_path / "missing.zip"), stdout=out)


def test_import_from_a_url(db, tmp_path):
    import http.server
    import threading

    basic_feed().write_zip(tmp_path / "feed.zip")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.zip"
        version, report = import_gtfs("district", url)
    finally:
        server.shutdown()
    assert version.status == FeedVersion.Status.LIVE
    assert report.loaded["stop_times.txt"] == 18
