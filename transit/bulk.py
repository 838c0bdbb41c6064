"""Bulk loading rows into a table: COPY on PostgreSQL, batched executemany on SQLite.

Both are the fastest path each engine offers from Python. Rows are plain tuples in the order
of the columns given; nothing is buffered beyond one batch, so memory stays flat whatever the
size of the file.
"""

import datetime

from django.db import connection, transaction

SQLITE_BATCH = 20_000


class BulkLoader:
    """`with BulkLoader(Model, ["field", ...]) as load: load.add((value, ...))`"""

    def __init__(self, model, fields, batch=SQLITE_BATCH, table=None):
        self.model = model
        self.table = table or model._meta.db_table
        self.columns = [model._meta.get_field(f).column for f in fields]
        self.batch_size = batch
        self.count = 0
        self._pending = []
        self._copy = None
        self._cursor = None
        self._copy_cm = None

    def __enter__(self):
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            self._cursor = connection.connection.cursor()
            cols = ", ".join(f'"{c}"' for c in self.columns)
            self._copy_cm = self._cursor.copy(f'COPY "{self.table}" ({cols}) FROM STDIN')
            self._copy = self._copy_cm.__enter__()
        else:
            cols = ", ".join(f'"{c}"' for c in self.columns)
            marks = ", ".join("?" for _ in self.columns)
            self._sql = f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})'
        return self

    def add(self, row):
        self.count += 1
        if self._copy is not None:
            self._copy.write_row(row)
            return
        self._pending.append(row)
        if len(self._pending) >= self.batch_size:
            self._flush()

    def add_many(self, rows):
        if self._copy is not None:
            write = self._copy.write_row
            n = 0
            for row in rows:
                write(row)
                n += 1
            self.count += n
            return
        for row in rows:
            self.add(row)

    def _flush(self):
        if not self._pending:
            return
        rows = [
            tuple(v.isoformat() if isinstance(v, datetime.date) else v for v in row)
            for row in self._pending
        ]
        # One short transaction per batch: other writers of the embedded database (a web
        # request saving a session) get their turn between batches.
        with transaction.atomic():
            connection.ensure_connection()
            connection.connection.executemany(self._sql, rows)
        self._pending = []

    def __exit__(self, exc_type, exc, tb):
        if self._copy_cm is not None:
            try:
                self._copy_cm.__exit__(exc_type, exc, tb)
            finally:
                self._cursor.close()
        elif exc_type is None:
            self._flush()
        return False


def delete_in_chunks(sql_ids, delete_sql, chunk=5000):
    """Delete rows in chunks of ids (keeps SQLite's lock short and PostgreSQL's WAL bursts
    small). `sql_ids` selects the ids; `delete_sql` deletes `WHERE <col> IN (%s)`."""
    with connection.cursor() as cursor:
        cursor.execute(sql_ids)
        ids = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        marks = ", ".join(["%s"] * len(part))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(delete_sql % marks, part)
    return len(ids)
