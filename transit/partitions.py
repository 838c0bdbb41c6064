"""A feed version's stop times in a table of their own (PostgreSQL).

`transit_stoptime` is partitioned by `version_id` (LIST, migration 0004); each version's
stop times are the partition `transit_stoptime_v<version pk>`. An import

1. creates that table as a plain table LIKE the parent, with no index, the version's pk as
   the default of `version_id` and a CHECK that it is that pk;
2. loads it with COPY ... FREEZE (allowed because the table was created in the same
   transaction: no hint bits or freezing left for a later vacuum to write);
3. builds the primary key and the model's indexes (Meta.indexes) on it, one sorted bulk build
   each: measured 2.5 times less server CPU than COPY into a table whose indexes are kept up
   to date row by row, as they were when all versions shared one table (docs/benchmarks.md);
4. attaches it: ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent, which readers
   and writers do not wait for; the indexes exist already, so it only checks them.

All four happen in one transaction: a failed or killed import leaves no table behind, and the
live version's partition is never touched. A version is deleted by dropping its table.

On SQLite (the embedded profile) there is one table for all versions and nothing of this
applies: rows go into `transit_stoptime` and are deleted trip by trip, as before.
"""

import logging
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction

from .bulk import delete_in_chunks
from .models import FeedVersion, StopTime, Trip

logger = logging.getLogger(__name__)

# How long dropping an old version's table may wait for its lock on the parent table (every
# query of stop times holds a share lock on it for a few ms). Longer waits would hold up the
# departure boards queued behind the drop; the cleanup sweep of the next import tries again.
DROP_LOCK_TIMEOUT = "1s"
# Memory for the index builds of one import (the server's default, 64 MB, sorts a few
# million stop times on disk).
INDEX_BUILD_MEMORY = "256MB"


def partitioned():
    return connection.vendor == "postgresql"


def table_name(version_pk):
    return f"{StopTime._meta.db_table}_v{int(version_pk)}"


def _q(name):
    return connection.ops.quote_name(name)


@contextmanager
def loading(version_pk):
    """`with loading(pk) as (table, freeze):` COPY the version's stop times into `table`
    (`freeze`: COPY may use FREEZE); on a normal exit the table is indexed and attached.
    The version's pk is the default of `version_id` there, so COPY need not send it."""
    if not partitioned():
        yield StopTime._meta.db_table, False
        return
    parent = StopTime._meta.db_table
    table = table_name(version_pk)
    pk = int(version_pk)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [parent])
        sequence = cursor.fetchone()[0]
        # A table of this name can only be left from a database whose sequences were reset
        # (tests): no version of this pk exists but the one being imported.
        cursor.execute(f"DROP TABLE IF EXISTS {_q(table)}")
        cursor.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(parent)})")
        cursor.execute(
            f"ALTER TABLE {_q(table)} ALTER COLUMN version_id SET DEFAULT {pk}, "
            f"ALTER COLUMN id SET DEFAULT nextval(%s::regclass), "
            f"ADD CONSTRAINT {_q(table + '_version')} CHECK (version_id = {pk})",
            [sequence],
        )
        yield table, True
        _index_and_attach(cursor, parent, table, pk)


def _index_and_attach(cursor, parent, table, pk):
    meta = StopTime._meta
    cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
    cursor.execute(
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} "
        f"PRIMARY KEY ({_q(meta.pk.column)}, version_id)"
    )
    for index in meta.indexes:
        columns = []
        for field_name in index.fields:
            descending = field_name.startswith("-")
            column = meta.get_field(field_name.lstrip("-")).column
            columns.append(_q(column) + (" DESC" if descending else ""))
        cursor.execute(
            f"CREATE INDEX {_q(table + '_' + index.name.removeprefix('transit_st_'))} "
            f"ON {_q(table)} ({', '.join(columns)})"
        )
    cursor.execute(f"ALTER TABLE {_q(parent)} ATTACH PARTITION {_q(table)} FOR VALUES IN ({pk})")


def drop(version_pk):
    """Delete every stop time of a version. Returns False when its table could not be
    dropped now (its lock was not had in time); the caller keeps the version to try again."""
    if not partitioned():
        st, trip = StopTime._meta.db_table, Trip._meta.db_table
        delete_in_chunks(
            f"SELECT id FROM {trip} WHERE version_id = {int(version_pk)}",
            f"DELETE FROM {st} WHERE trip_id IN (%s)",
        )
        return True
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            cursor.execute(f"DROP TABLE IF EXISTS {_q(table_name(version_pk))}")
    except OperationalError:
        logger.warning("Stop times of version %s not dropped yet (table busy)", version_pk)
        return False
    return True


def drop_orphans():
    """Drop the stop times tables of versions that no longer exist (a feed deleted in the
    admin, a test database flushed). Returns how many were dropped."""
    if not partitioned():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND pg_table_is_visible(oid) "
            "AND relname ~ %s",
            [rf"^{StopTime._meta.db_table}_v[0-9]+$"],
        )
        pks = {int(row[0].rsplit("_v", 1)[1]) for row in cursor.fetchall()}
    if not pks:
        return 0
    orphans = pks - set(FeedVersion.objects.filter(pk__in=pks).values_list("pk", flat=True))
    return sum(drop(pk) for pk in sorted(orphans))
