"""ORM queries built once per process, for the few that run on every request of a hot path.

Django builds a query's SQL anew each time the query runs. For the session and the signed-in
user, read on every signed-in request, and for what every booking attempt reads, building the
SQL cost several times what the database takes to answer (0.2–1.1 ms of CPU a query against
about 0.04 ms to run it; docs/benchmarks.md). A PreparedQuery asks Django to compile the query
once per database alias, with a marker value in place of each parameter that changes, keeps
what the compiler worked out (the SQL, the columns, the related models of select_related, the
annotations), and then runs that SQL with each call's values, turning the row into model
instances the way Django's own ModelIterable does (or into a tuple, for values_list()). The SQL
is still Django's, for the vendor in use, so a migration that renames a column is picked up
when the process starts again.

Markers are integers, strings and aware datetimes, each given to the database the way Django
gives it (a datetime becomes text on SQLite, so a call's datetime is adapted the same way). A
marker that does not come out of the compiler so, or comes out more than once, is refused when
the query is first compiled, so a mistake shows in the first test that runs it.
"""

from datetime import datetime

from django.db import connections
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.utils import timezone


def _same(value):
    return value


def _adapter(marker, connection):
    """How Django hands a value of the marker's kind to this database."""
    if isinstance(marker, datetime):
        return connection.ops.adapt_datetimefield_value
    return _same


class PreparedQuery:
    """`build(**markers)` returns the queryset, called once per database alias with the
    marker values given here; `first(**values)` runs it with real ones and returns the first
    row, or None: a model instance (select_related objects and annotations included), or a
    tuple for a values_list() query.

        by_pk = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-918_273_645)
        user = by_pk.first(pk=42)

    Not for deferred fields (only(), defer()) nor values(), flat or named values_list().
    """

    def __init__(self, build, **markers):
        if not markers:
            raise ValueError("A PreparedQuery needs at least one marker.")
        for name, marker in markers.items():
            if type(marker) not in (int, str, datetime):
                raise TypeError(f"Marker {name!r} must be an int, a str or a datetime.")
            if isinstance(marker, datetime) and not timezone.is_aware(marker):
                raise TypeError(f"Marker {name!r} must be an aware datetime.")
        self._build = build
        self._markers = markers
        self._compiled = {}  # alias -> what the compiler worked out

    def _compile(self, alias):
        connection = connections[alias]
        queryset = self._build(**self._markers)
        query = queryset.query
        if query.deferred_loading[0]:
            raise ValueError("A PreparedQuery reads whole rows (no only() or defer()).")
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        positions = {}
        for name, marker in self._markers.items():
            adapt = _adapter(marker, connection)
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
            "converters": compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            "compiler": compiler,  # its apply_converters, which only reads the vendor's rules
        }
        if queryset._iterable_class is ValuesListIterable:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
            if list(queryset._fields) != names:
                raise ValueError("A PreparedQuery reads values_list() rows in select order.")
            return compiled
        if queryset._iterable_class is not ModelIterable:
            raise ValueError("A PreparedQuery reads model rows or values_list() rows.")
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return {
            **compiled,
            "model": klass_info["model"],
            "init_list": [column[0].target.attname for column in select[start:end]],
            "span": (start, end),
            "populators": get_related_populators(klass_info, select, alias),
            "annotations": dict(compiler.annotation_col_map or {}),
        }

    def first(self, using="default", **values):
        if values.keys() != self._markers.keys():
            raise TypeError(f"Expected values for {sorted(self._markers)}, got {sorted(values)}.")
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        params = list(compiled["params"])
        for name, value in values.items():
            position, adapt = compiled["positions"][name]
            params[position] = adapt(value)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled["sql"], params)
            row = cursor.fetchone()
        if row is None:
            return None
        if compiled["converters"]:
            row = next(iter(compiled["compiler"].apply_converters([row], compiled["converters"])))
        if "model" not in compiled:
            return tuple(row)
        start, end = compiled["span"]
        obj = compiled["model"].from_db(using, compiled["init_list"], row[start:end])
        for populator in compiled["populators"]:
            populator.populate(row, obj)
        for name, position in compiled["annotations"].items():
            setattr(obj, name, row[position])
        return obj
