"""Site search that finds Chinese words.

PostgreSQL's parsers take a run of Chinese characters for one word, so searching 社會 in a
sentence finds nothing. The search text is therefore built here, in Python, the same way for
pages and for queries:

- NFKC, lower case, and OpenCC to Simplified Chinese (one script: 長者 finds 长者卡 and back);
- every run of Chinese characters gives its words (rjieba, the Rust jieba), its overlapping
  two-character pairs and its characters, separated by spaces;
- other text (English, numbers) is kept as written and left to PostgreSQL's `english`
  configuration, which stems it.

On PostgreSQL the terms go into a `tsvector` (`simple` configuration for the Chinese terms,
`english` for the rest; titles weigh more) with a GIN index, and a query of several Chinese
characters asks for all of its pairs (`长者卡` → `长者 & 者卡`), ranked with `ts_rank`. On the
embedded SQLite default the same terms are stored as text and matched term by term (English by
a crude suffix stem); ranking there is by title matches, then newest.

Matches are read newest first from the GIN index alone (one call of a database function),
and only a query with at most RANKED_MATCHES matches is ranked; a common word (on more pages
than that) lists newest first (bench/cms_search.py).
"""

import itertools
import re
import unicodedata

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Case, IntegerField, Q, TextField, Value, When
from django.utils import timezone
from django.utils.html import strip_tags

from wagtail.models import Page

import rjieba
from opencc import OpenCC

from .models import SearchEntry, language_order

MAX_QUERY_LENGTH = 100
RANK_CAP = 1000  # matches listed at most (the newest)
RANKED_MATCHES = 200  # matches ranked at most; a word on more pages lists newest first
CHINESE_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[0-9a-z]+(?:'[a-z]+)?")
_to_simplified = OpenCC("t2s")


def normalize(text):
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _to_simplified.convert(text)


def chinese_terms(text):
    """Words, overlapping pairs and characters of every Chinese run, in order."""
    terms = []
    for run in CHINESE_RUN.findall(text):
        terms.extend(word for word in rjieba.cut(run) if len(word) > 1)
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
        terms.extend(run)
    return terms


def latin_text(text):
    return " ".join(LATIN_WORD.findall(text))


def crude_stem(word):
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def page_texts(page):
    """(title, the rest) of a page's searchable text."""
    parts = [getattr(page, "search_description", ""), getattr(page, "summary", "")]
    for name in ("intro", "conditions"):
        value = getattr(page, name, "")
        if value:
            parts.append(strip_tags(str(value)))
    body = getattr(page, "body", None)
    if body is not None and hasattr(body, "stream_block"):
        parts.extend(str(s) for s in body.stream_block.get_searchable_content(body))
    return page.title, " ".join(p for p in parts if p)


def search_entry(page):
    """The page's search entry (not saved): its terms as text, and on PostgreSQL the
    expression of its weighted vector."""
    title, rest = (normalize(t) for t in page_texts(page))
    zh_title, zh_rest = " ".join(chinese_terms(title)), " ".join(chinese_terms(rest))
    en_title, en_rest = latin_text(title), latin_text(rest)
    words = (en_title + " " + en_rest).split()
    text = " ".join([zh_title, zh_rest, *words, *(crude_stem(w) for w in words)])
    vector = None
    if connection.vendor == "postgresql":
        vector = (
            SearchVector(Value(zh_title, output_field=TextField()), config="simple", weight="A")
            + SearchVector(Value(en_title, output_field=TextField()), config="english", weight="A")
            + SearchVector(Value(zh_rest, output_field=TextField()), config="simple", weight="B")
            + SearchVector(Value(en_rest, output_field=TextField()), config="english", weight="B")
        )
    return SearchEntry(
        page_id=page.pk,
        text=f" {text} ",
        title_text=f" {zh_title} {en_title} ",
        vector=vector,
        language=page.locale.language_code,
        translation_key=page.translation_key,
        published_at=page.first_published_at,
        expire_at=page.expire_at,
    )


def index_pages(pages, batch_size=500):
    """Write (or refresh) the search entries of these pages (any iterable), one statement a
    batch; the number of pages."""
    fields = [f.name for f in SearchEntry._meta.concrete_fields if not f.primary_key]
    pages, count = iter(pages), 0
    while batch := [search_entry(page) for page in itertools.islice(pages, batch_size)]:
        SearchEntry.objects.bulk_create(
            batch, update_conflicts=True, unique_fields=["page"], update_fields=fields
        )
        count += len(batch)
    return count


def index_page(page):
    """Write (or refresh) the page's search entry."""
    index_pages([page])


def remove_page(page):
    SearchEntry.objects.filter(page_id=page.pk).delete()


def query_terms(query):
    """(Chinese terms that must all match, Latin words) of a query."""
    query = normalize(query[:MAX_QUERY_LENGTH])
    terms = []
    for run in CHINESE_RUN.findall(query):
        if len(run) == 1:
            terms.append(run)
        else:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return list(dict.fromkeys(terms)), LATIN_WORD.findall(query)


def matching_entries(query):
    """(page id, translation key, language) of the entries matching the query, best first;
    None for an empty query.

    The matches are taken newest first, at most RANK_CAP of them. When there are at most
    RANKED_MATCHES they are ranked (PostgreSQL: `ts_rank`, titles weighing more; SQLite:
    title matches first), newest first among equals. A word on more pages than that (a
    common word: 居民, 申請) keeps the newest-first order: ranking reads every match's vector.

    On PostgreSQL this is one call of the function cms_search_matches (migration 0010),
    which finds the matches in the GIN index alone: a match there needs no look at the
    page's vector (the index answers `&` of plain terms exactly), while a sequential scan or
    a walk down the date index tests the vector of every row it passes, reading it back from
    TOAST (bench/cms_search.py: the 1,000 newest of 2,400 matches in 540 ms down the date
    index, 9 ms from the GIN index). The planner does not count that cost, so the function
    switches those scans off for its own statement."""
    chinese, latin = query_terms(query)
    if not chinese and not latin:
        return None
    if connection.vendor == "postgresql":
        parts, params = [], []
        if chinese:
            parts.append("to_tsquery('simple', %s)")
            params.append(" & ".join(f"'{term}'" for term in chinese))
        if latin:
            parts.append("plainto_tsquery('english', %s)")
            params.append(" ".join(latin))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT page_id, translation_key, language FROM "
                f"cms_search_matches({' && '.join(parts)}, %s, %s, %s)",
                [*params, timezone.now(), RANK_CAP, RANKED_MATCHES],
            )
            return cursor.fetchall()
    now = timezone.now()
    condition = Q(expire_at__isnull=True) | Q(expire_at__gt=now)
    title_hits = Q()
    for term in chinese:
        condition &= Q(text__contains=f" {term} ")
        title_hits &= Q(title_text__contains=f" {term} ")
    for word in latin:
        condition &= Q(text__contains=f" {crude_stem(word)}")
    columns = ("page_id", "translation_key", "language")
    entries = SearchEntry.objects.filter(condition).order_by("-published_at", "-pk")
    newest = list(entries.values_list(*columns)[:RANK_CAP])
    if len(newest) > RANKED_MATCHES or not chinese:  # (English: newest first on SQLite)
        return newest
    rank = Case(When(title_hits, then=1), default=0, output_field=IntegerField())
    return list(
        entries.filter(pk__in=[row[0] for row in newest])
        .annotate(rank=rank)
        .order_by("-rank", "-published_at", "-pk")
        .values_list(*columns)
    )


def ranked_page_ids(query, language=None):
    """Ids of the live, unexpired pages matching the query, best first, one per translation
    (the reader's language preferred, at the place of its best-ranked translation)."""
    rows = matching_entries(query)
    if rows is None:
        return []
    order = language_order(language)
    best = {}
    for position, (page_id, key, code) in enumerate(rows):
        preference = order.index(code) if code in order else len(order)
        if key not in best:
            best[key] = [position, preference, page_id]
        elif preference < best[key][1]:
            best[key][1:] = [preference, page_id]
    return [page_id for _position, _preference, page_id in sorted(best.values())]


def specific_pages(page_ids):
    """The specific pages for these ids, in this order (for one page of results)."""
    pages = {p.pk: p for p in Page.objects.filter(pk__in=page_ids).specific()}
    return [pages[pk] for pk in page_ids if pk in pages]


def search_pages(query, language=None, limit=20):
    """The first `limit` results as specific pages (what one page of /search/ shows)."""
    return specific_pages(ranked_page_ids(query, language)[:limit])
