"""cms_search_matches(): the matches of a query, best first, in one statement (PostgreSQL).

The function sets the planner for its own statement only (a function's SET clause ends with
the call): no sequential or plain index scan, so the matches come from the GIN index alone
and no page's vector is read to find them (see cms.search.matching_entries), and no JIT.
It returns the newest `listed` matches unexpired at `at`: ordered by ts_rank (titles weigh
more) when there are at most `ranked` of them, else newest first.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cms_search_matches(
    query tsquery, at timestamptz, listed integer, ranked integer
)
RETURNS TABLE (page_id integer, translation_key uuid, language varchar)
LANGUAGE sql STABLE
SET enable_seqscan = off
SET enable_indexscan = off
SET jit = off
AS $$
    WITH newest AS MATERIALIZED (
        SELECT e.page_id, e.translation_key, e.language, e.published_at
        FROM cms_searchentry e
        WHERE e.vector @@ query AND (e.expire_at IS NULL OR e.expire_at > at)
        ORDER BY e.published_at DESC NULLS FIRST, e.page_id DESC
        LIMIT listed
    ), few AS (
        SELECT count(*) <= ranked AS ranking FROM newest
    )
    SELECT n.page_id, n.translation_key, n.language
    FROM newest n, few
    ORDER BY
        CASE WHEN few.ranking THEN (
            SELECT ts_rank(r.vector, query) FROM cms_searchentry r WHERE r.page_id = n.page_id
        ) END DESC NULLS LAST,
        n.published_at DESC NULLS FIRST,
        n.page_id DESC
$$
"""


def create_function(apps, schema_editor):
    # PostgreSQL only: the embedded SQLite default searches the text column instead.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS cms_search_matches(tsquery, timestamptz, integer, integer)"
        )


class Migration(migrations.Migration):
    dependencies = [("cms", "0009_search_entry_reads_alone")]

    operations = [migrations.RunPython(create_function, drop_function)]
