"""ORM queries built once per thread, for the few that run on every request of a hot path.

Django builds a query's SQL anew each time the query runs. For the session and the signed-in
user, read on every signed-in request, and for what every booking attempt reads, building the
SQL cost several times what the database takes to answer (0.2–1.1 ms of CPU a query against
about 0.04 ms to run it; docs/benchmarks.md). A PreparedQuery asks Django to compile the query
once, with a marker value in place of each parameter that changes, keeps what the compiler
worked out (the SQL, the columns, the related models of select_related, the annotations), and
then runs that SQL with each call's values, turning the row into a model instance the way
Django's own ModelIterable does (or into a tuple, for values_list()). The SQL is still Django's,
for the vendor in use, so a migration that renames a column is picked up when the process starts
again.

What is kept belongs to one thread's database connection (its converters are bound to it), so
it is kept per thread: a sync worker compiles once, and a thread that ends takes its copy with
it. The ORM's guards are kept: the router chooses the database, a locking query outside a
transaction is refused, a value of the wrong type is refused, and an integer no database column
holds finds nothing.

On PostgreSQL the statement is also prepared on the server (settings.DATABASE_PREPARED_STATEMENTS,
on by default): psycopg sends it once with its parameters bound by the server, PostgreSQL parses
and plans it once per connection, and each call sends only the values. Only these statements:
Django's own queries keep client-side binding (under server-side binding Django 5.2 does not
split a bulk_create or an IN list at PostgreSQL's 65,535-parameter limit, and imports here write
larger batches). The cursor is still Django's wrapper, so execute_wrapper()s and the tests' query
counts see these statements as any other; the query log shows them as sent, with $1, $2… in
place of the values. psycopg drops a connection's prepared statements after a ROLLBACK (one
DEALLOCATE ALL; they are prepared again on their next run). A statement that a migration run
elsewhere made stale is prepared again at once outside a transaction; in one, the rollback
that follows the error does it.

Markers are integers, strings and aware datetimes, each handed to the database the way Django
hands it (a datetime becomes text on SQLite, so a call's datetime is adapted the same way). A
marker that does not come out of the compiler so, or comes out more than once, is refused when
the query is first compiled, so a mistake shows in the first test that runs it.
"""

import contextlib
import functools
import threading
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connections, router
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError
from django.utils import timezone

_INT64 = range(-(2**63), 2**63)
# psycopg's prepare_threshold while a PreparedQuery runs: only the statements asked for.
_NEVER_BY_COUNT = 2**31


def _same(value):
    return value


def _check_value(name, value, kind):
    if type(value) is not kind:
        raise TypeError(f"{name!r} must be {kind.__name__}, not {type(value).__name__}.")
    if kind is datetime and not timezone.is_aware(value):
        raise TypeError(f"{name!r} must be an aware datetime.")


@contextlib.contextmanager
def _preparing(raw):
    """psycopg's preparing on for the psycopg connection `raw` during the block. Django turns
    it off for the connection (prepare_threshold None), and psycopg then prepares nothing,
    even when asked, nor looks at what a query did to its statements. It is on only while one
    of these statements (or their DEALLOCATE ALL) runs: with it on, psycopg would also keep
    the text of every other query run on the connection (up to 100, bulk INSERTs included)."""
    previous = raw.prepare_threshold
    if previous is None:
        raw.prepare_threshold = _NEVER_BY_COUNT
    try:
        yield
    finally:
        raw.prepare_threshold = previous


@functools.cache
def _preparing_cursor_class():
    """A psycopg cursor that binds parameters on the server and prepares every statement."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            with _preparing(self.connection):
                return super().execute(query, params, prepare=True, binary=binary)

        def _maybe_prepare_gen(self, pgq, *, prepare=None, binary=None):
            # psycopg keeps the query it sent, which Django's query log reads
            # (last_executed_query), only when it sends it unprepared: keep it here too.
            self._query = pgq
            return super()._maybe_prepare_gen(pgq, prepare=prepare, binary=binary)

    return PreparingCursor


def _cursor(connection):
    """Django's cursor for `connection`; on PostgreSQL with psycopg 3 (and unless
    settings.DATABASE_PREPARED_STATEMENTS is off, for a pooler that cannot keep them), one that
    prepares its statement on the server, in Django's own wrapper."""
    if (
        connection.vendor != "postgresql"
        or not settings.DATABASE_PREPARED_STATEMENTS
        or connection.features.uses_server_side_binding  # then Django's cursors already bind
    ):
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return connection.cursor()
    # As BaseDatabaseWrapper.cursor() opens and wraps a cursor, with another psycopg class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_preparing_cursor_class()(connection.connection))


def _prepared_statement_lost(error):
    """Whether `error` says this connection's prepared statement no longer fits or exists: a
    migration changed a table it reads (run by another process, so psycopg did not see it), or
    a pooler handed the statement to another server connection."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate == "26000" or (
        sqlstate == "0A000" and "cached plan must not change result type" in str(cause)
    )


def _drop_prepared_statements(connection):
    """DEALLOCATE ALL, seen by psycopg (it forgets its statements too, as after a ROLLBACK)."""
    with _preparing(connection.connection), connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


def run(connection, sql, params, *, fetch="one"):
    """Run SQL a compiler built once (and prepared on PostgreSQL, see _cursor) with this
    call's parameters: its first row (`fetch="one"`, or None) or all of them (`"all"`)."""

    def execute():
        with _cursor(connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch == "one" else cursor.fetchall()

    try:
        return execute()
    except DatabaseError as error:
        if not _prepared_statement_lost(error) or not connection.get_autocommit():
            # In a transaction, its rollback makes psycopg drop the connection's statements.
            raise
    # Outside a transaction: drop them now, and run this one again, prepared anew.
    _drop_prepared_statements(connection)
    return execute()


class ModelRows:
    """What Django's compiler worked out about a model query's rows, kept to turn rows of its
    SQL into instances as Django's ModelIterable does: converters, the model's columns, the
    related objects of select_related(), the annotations. Bound to the compiler's (this
    thread's) connection."""

    def __init__(self, compiler, alias):
        select = compiler.select
        self.alias = alias
        self.compiler = compiler
        self.converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        self.model = klass_info["model"]
        self.span = (fields[0], fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[slice(*self.span)]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = dict(compiler.annotation_col_map or {})

    def convert(self, rows):
        if self.converters:
            return self.compiler.apply_converters(rows, self.converters)
        return rows

    def instance(self, row):
        start, end = self.span
        obj = self.model.from_db(self.alias, self.init_list, row[start:end])
        for populator in self.populators:
            populator.populate(row, obj)
        for name, position in self.annotations.items():
            setattr(obj, name, row[position])
        return obj

    def instances(self, rows):
        return (self.instance(row) for row in self.convert(rows))


class PreparedQuery:
    """`build(**markers)` returns the queryset, called with the marker values given here;
    `first(**values)` runs it with real ones and returns its row, or None: a model instance
    (select_related objects and annotations included), or a tuple for a values_list() query.
    Meant for a query that finds at most one row (a unique filter, or one group): LIMIT 1 is
    added and no ordering.

        by_pk = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-918_273_645)
        user = by_pk.first(pk=42)

    Not for deferred fields (only(), defer()), prefetch_related(), values(), or flat or named
    values_list().
    """

    def __init__(self, build, **markers):
        if not markers:
            raise ValueError("A PreparedQuery needs at least one marker.")
        for name, marker in markers.items():
            if type(marker) not in (int, str, datetime):
                raise TypeError(f"Marker {name!r} must be an int, a str or a datetime.")
            _check_value(name, marker, type(marker))
        self._build = build
        self._markers = markers
        self._local = threading.local()  # .compiled: alias -> what the compiler worked out

    def _queryset(self):
        """The queryset `build` gives with the markers, built once per thread."""
        queryset = getattr(self._local, "queryset", None)
        if queryset is None:
            queryset = self._build(**self._markers)
            if queryset.query.deferred_loading[0] or queryset._prefetch_related_lookups:
                raise ValueError(
                    "A PreparedQuery reads whole rows (no only(), defer() or prefetch)."
                )
            self._local.queryset = queryset = queryset[:1]
        return queryset

    def _alias(self):
        """The database the router gives this query, as the ORM would ask it."""
        queryset = self._queryset()
        if queryset.query.select_for_update:
            return router.db_for_write(queryset.model)
        return router.db_for_read(queryset.model)

    def _compile(self, alias):
        connection = connections[alias]
        queryset = self._queryset().all()  # a copy: the compiler may change its query
        query = queryset.query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        positions = {}
        for name, marker in self._markers.items():
            adapt = (
                connection.ops.adapt_datetimefield_value if isinstance(marker, datetime) else _same
            )
            sought = adapt(marker)
            found = [
                i
                for i, value in enumerate(params)
                if type(value) is type(sought) and value == sought
            ]
            if len(found) != 1:
                raise ValueError(
                    f"Marker {name!r} appears {len(found)} times in the compiled SQL's "
                    "parameters; it must appear exactly once, as Django passes it."
                )
            positions[name] = (found[0], adapt)
        select = compiler.select
        compiled = {
            "sql": sql,
            "params": params,
            "positions": positions,
            "for_update": query.select_for_update,
        }
        if queryset._iterable_class is ValuesListIterable:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
            if list(queryset._fields) != names:
                raise ValueError("A PreparedQuery reads values_list() rows in select order.")
            return {
                **compiled,
                "converters": compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
                "compiler": compiler,  # for apply_converters, with this thread's connection
            }
        if queryset._iterable_class is not ModelIterable:
            raise ValueError("A PreparedQuery reads model rows or values_list() rows.")
        return {**compiled, "rows": ModelRows(compiler, alias)}

    def first(self, using=None, **values):
        if values.keys() != self._markers.keys():
            raise TypeError(f"Expected values for {sorted(self._markers)}, got {sorted(values)}.")
        for name, value in values.items():
            _check_value(name, value, type(self._markers[name]))
            if type(value) is int and value not in _INT64:
                return None  # no column holds it: nothing to find, as the ORM answers
        using = using or self._alias()
        compiled_by_alias = getattr(self._local, "compiled", None)
        if compiled_by_alias is None:
            compiled_by_alias = self._local.compiled = {}
        compiled = compiled_by_alias.get(using)
        if compiled is None:
            compiled = compiled_by_alias[using] = self._compile(using)
        connection = connections[using]
        if compiled["for_update"] and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled["params"])
        for name, value in values.items():
            position, adapt = compiled["positions"][name]
            params[position] = adapt(value)
        row = run(connection, compiled["sql"], params)
        if row is None:
            return None
        if "rows" in compiled:
            return next(compiled["rows"].instances([row]))
        if compiled["converters"]:
            row = next(iter(compiled["compiler"].apply_converters([row], compiled["converters"])))
        return tuple(row)
