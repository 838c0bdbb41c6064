"""ORM queries built once per process, for the few that run on every request of a hot path.

Django builds a query's SQL anew each time the query runs. For the session and the signed-in
user, read on every signed-in request, and the slot every booking attempt reads, building the
SQL cost several times what the database takes to answer (0.2–1.1 ms of CPU a query against
about 0.04 ms to run it; docs/benchmarks.md). A PreparedQuery asks Django to compile the query
once per database alias, with a marker value in place of each parameter that changes,
keeps what the compiler worked out (the SQL, the columns, the related models of
select_related, the annotations), and then runs that SQL with each call's values, turning the
row into model instances the way Django's own ModelIterable does. The SQL is still Django's,
for the vendor in use, so a migration that renames a column is picked up when the process
starts again.

Only values that Django passes to the database unchanged may be markers: integers and strings.
A marker that does not come out of the compiler as itself, or comes out more than once, is
refused when the query is first compiled, so a mistake shows in the first test that runs it.
"""

from django.db import connections
from django.db.models.query import get_related_populators


class PreparedQuery:
    """`build(**markers)` returns the queryset, called once per database alias with the
    marker values given here; `first(**values)` runs it with real ones and returns the first
    row as a model instance (select_related objects and annotations included), or None.

        by_pk = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=-918_273_645)
        user = by_pk.first(pk=42)

    Meant for querysets that read rows of one model (no values(), no deferred fields).
    """

    def __init__(self, build, **markers):
        if not markers:
            raise ValueError("A PreparedQuery needs at least one marker.")
        for name, marker in markers.items():
            if type(marker) not in (int, str):
                raise TypeError(f"Marker {name!r} must be an int or a str, not {marker!r}.")
        self._build = build
        self._markers = markers
        self._compiled = {}  # alias -> what the compiler worked out

    def _compile(self, alias):
        queryset = self._build(**self._markers)
        if queryset.query.values_select or queryset.query.deferred_loading[0]:
            raise ValueError("A PreparedQuery reads whole rows (no values(), only() or defer()).")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        positions = {}
        for name, marker in self._markers.items():
            found = [
                i
                for i, value in enumerate(params)
                if type(value) is type(marker) and value == marker
            ]
            if len(found) != 1:
                raise ValueError(
                    f"Marker {name!r} appears {len(found)} times in the compiled SQL's "
                    "parameters; it must appear exactly once, unchanged."
                )
            positions[name] = found[0]
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return {
            "sql": sql,
            "params": params,
            "positions": positions,
            "model": klass_info["model"],
            "init_list": [column[0].target.attname for column in select[start:end]],
            "span": (start, end),
            "populators": get_related_populators(klass_info, select, alias),
            "annotations": dict(compiler.annotation_col_map or {}),
            "converters": compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            "compiler": compiler,  # its apply_converters, which only reads the vendor's rules
        }

    def first(self, using="default", **values):
        if values.keys() != self._markers.keys():
            raise TypeError(f"Expected values for {sorted(self._markers)}, got {sorted(values)}.")
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        params = list(compiled["params"])
        for name, value in values.items():
            params[compiled["positions"][name]] = value
        with connections[using].cursor() as cursor:
            cursor.execute(compiled["sql"], params)
            row = cursor.fetchone()
        if row is None:
            return None
        if compiled["converters"]:
            row = next(iter(compiled["compiler"].apply_converters([row], compiled["converters"])))
        start, end = compiled["span"]
        obj = compiled["model"].from_db(using, compiled["init_list"], row[start:end])
        for populator in compiled["populators"]:
            populator.populate(row, obj)
        for name, position in compiled["annotations"].items():
            setattr(obj, name, row[position])
        return obj
