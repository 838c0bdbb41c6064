"""Stop times in a table per feed version (PostgreSQL, transit/partitions.py): what an import
builds, what a failed import and the cleanup leave, and that a departure board reads only
the live version's table."""

import datetime as dt
import zoneinfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

import psycopg
import pytest

from transit import partitions
from transit.departures import board
from transit.importer import GTFSImportError, cleanup_versions, import_gtfs
from transit.models import Feed, FeedVersion, Stop, StopTime

from .feeds import basic_feed

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("stop times are partitioned on PostgreSQL only")


def tables():
    """{stop times table of a version: attached to transit_stoptime?}"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.inhparent IS NOT NULL FROM pg_class c "
            "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
            "WHERE c.relkind = 'r' AND c.relname LIKE 'transit\\_stoptime\\_v%%'"
        )
        return dict(cursor.fetchall())


def test_a_version_is_an_attached_table_with_the_models_indexes(postgres_only, district):
    table = f"transit_stoptime_v{district.pk}"
    assert tables() == {table: True}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parent.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class parent "
            "ON parent.oid = i.inhparent WHERE x.indrelid = %s::regclass",
            [table],
        )
        attached = sorted(r[0] for r in cursor.fetchall())
    assert attached == ["transit_st_stop_dep", "transit_st_trip_seq", "transit_stoptime_pkey"]
    assert StopTime.objects.filter(version=district).count() == 18


def test_a_failed_import_leaves_no_table_and_the_live_one_whole(
    postgres_only, district, tmp_path, monkeypatch
):
    def explode(*args):
        raise RuntimeError("no space left on device")

    live = tables()
    # While indexing the new table (before it is attached) ...
    monkeypatch.setattr(partitions, "_index_and_attach", explode)
    with pytest.raises(GTFSImportError, match="no space left"):
        import_gtfs("district", basic_feed().write_zip(tmp_path / "a.zip"))
    assert tables() == live
    monkeypatch.undo()
    # ... and after it is attached.
    from transit import importer

    monkeypatch.setattr(importer._Importer, "load_frequencies", explode)
    with pytest.raises(GTFSImportError, match="no space left"):
        import_gtfs("district", basic_feed().write_zip(tmp_path / "b.zip"))
    assert tables() == live
    assert StopTime.objects.count() == 18
    assert Feed.objects.get(code="district").live_version == district


def test_the_cleanup_drops_a_replaced_versions_table(
    postgres_only, district, import_feed, settings
):
    settings.TRANSIT_KEEP_OLD_VERSIONS = 0
    second = import_feed(basic_feed())
    assert tables() == {f"transit_stoptime_v{second.pk}": True}


@pytest.mark.django_db(transaction=True)  # the reader below must see the committed tables
def test_a_table_in_use_is_dropped_by_a_later_cleanup(
    postgres_only, district, import_feed, settings, monkeypatch
):
    """Dropping a version's table waits at most DROP_LOCK_TIMEOUT for the lock on the parent
    (departure boards queue behind a waiting DROP); the version is kept for the next sweep."""
    settings.TRANSIT_KEEP_OLD_VERSIONS = 0
    monkeypatch.setattr(partitions, "DROP_LOCK_TIMEOUT", "100ms")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as reader:  # a long query of stop times, elsewhere
        reader.execute("SET lock_timeout = '10s'")  # a failure, not a hang, if it waits
        reader.execute("LOCK TABLE transit_stoptime IN ACCESS SHARE MODE")
        second = import_feed(basic_feed())
        assert Feed.objects.get(code="district").live_version == second
        assert FeedVersion.objects.get(pk=district.pk).status == FeedVersion.Status.RETIRED
        assert f"transit_stoptime_v{district.pk}" in tables()
    assert cleanup_versions(second.feed) == 1
    assert not FeedVersion.objects.filter(pk=district.pk).exists()
    assert tables() == {f"transit_stoptime_v{second.pk}": True}


def test_a_board_reads_only_the_live_versions_table(postgres_only, district, import_feed):
    other = import_feed(basic_feed(), code="ferry")
    feed = Feed.objects.select_related("live_version").get(code="district")
    stop = Stop.objects.get(version=district, stop_id="PIER")
    when = dt.datetime(2026, 3, 2, 7, 55, tzinfo=zoneinfo.ZoneInfo("Asia/Hong_Kong"))
    with CaptureQueriesContext(connection) as queries:
        assert board(feed, stop, at=when, now=when).departures
    read = [q["sql"] for q in queries.captured_queries if "transit_stoptime" in q["sql"]]
    assert read
    with connection.cursor() as cursor:
        for sql in read:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(r[0] for r in cursor.fetchall())
            assert f"transit_stoptime_v{district.pk}" in plan
            assert f"transit_stoptime_v{other.pk}" not in plan
