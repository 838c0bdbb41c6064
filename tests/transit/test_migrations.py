"""Migration 0004 (stop times carry their feed version; partitions on PostgreSQL) on a table
that holds stop times whose trip is gone: deleting a version in the admin leaves them behind,
since stop times refer to their trip without a constraint."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

import pytest

BEFORE = [("transit", "0003_realtime_snapshot_memo")]
AFTER = [("transit", "0004_stoptime_version_partitions")]


@pytest.mark.django_db(transaction=True)
def test_stop_times_of_a_deleted_trip_do_not_stop_the_migration(back_to_latest):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("transit", "StopTime").objects.create(trip_id=999_999, stop_id=1, stop_sequence=1)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)  # SQLite: the new column may not be empty; the orphan goes
    new = executor.loader.project_state(AFTER).apps
    assert not new.get_model("transit", "StopTime").objects.exists()
