"""Chinese site search on 20,000 announcements: p50/p95 of a two-character query.

The corpus is written from a real vocabulary with real word frequencies, without downloading
anything: the dictionary of rjieba (the jieba the search itself uses) is asked which pairs of
the 3,755 common characters of GB 2312 (level 1) are words, and how frequent each word and
character is (`has_word`, `suggest_freq`, `tag`). Words are then drawn in proportion to that
frequency (a Zipf-like law, since the dictionary's counts come from a real corpus):

- a title: two or three content words (nouns, verbs, places) and a notice word (通告, 安排...);
- a body of 150 to 600 characters: sentences of words drawn from the whole vocabulary,
  the function words and single characters included, as in real text;
- boilerplate lines real notices carry: "如有查询，请致电民政事务处热线。" on 60 % of the pages,
  "居民可于办公时间内前往社区中心办理。" on 30 %;
- 90 % of the pages converted to Traditional Chinese (OpenCC s2hk), 10 % left Simplified;
  published one every 100 minutes (3.8 years for 20,000), 30 % with an expiry date to come.

They are loaded as live pages under one parent (unless there already) and indexed with
cms.search.index_pages, the code publishing uses. Pages matched are counted with
cms_search_matches, the database function the search calls. Timed:
cms.search.ranked_page_ids plus the specific pages of the first page of 20, i.e. what
`/search/` does, for

- typed queries: two-character nouns, verbs and places of the vocabulary, drawn in proportion
  to their frequency (what residents type most is what is most said), half typed in
  Simplified and half in Traditional; many find few pages, some none, a few very many;
- common words, reported apart: 查詢/查询 and 居民 (boilerplate, on most pages) and the five
  commonest two-character nouns and verbs of the vocabulary (中国, 工作...), in both scripts.

Target: p95 < 30 ms.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_cms_bench \\
        .venv/bin/python bench/cms_search.py --count 20000 --runs 300
"""

import argparse
import bisect
import itertools
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from wagtail.models import Locale, Page, Site  # noqa: E402

import rjieba  # noqa: E402
from opencc import OpenCC  # noqa: E402

from cms import search  # noqa: E402
from cms.models import SearchEntry  # noqa: E402

MARKER = "bench-search-zipf"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CONTENT_TAGS = {"n", "nz", "ns", "nt", "vn", "v", "l"}
QUERY_TAGS = {"n", "nz", "ns", "nt", "vn", "v"}
NOTICE_WORDS = [
    *("通告", "通知", "安排", "活动", "讲座", "须知", "措施", "服务"),
    *("计划", "调整", "更新", "开放", "暂停", "登记", "招募"),
]
BOILERPLATE = [
    (0.6, "如有查询，请致电民政事务处热线。"),
    (0.3, "居民可于办公时间内前往社区中心办理。"),
]
COMMON = ["查詢", "查询", "居民"]
TO_HK = OpenCC("s2hk")


def vocabulary():
    """(word, frequency, part of speech) of the single characters and two-character words
    of rjieba's dictionary among the GB 2312 level-1 characters (cached in var/)."""
    cache = Path(settings.VAR_DIR) / "bench-zh-vocabulary.tsv"
    if cache.exists():
        rows = [line.split("\t") for line in cache.read_text().splitlines()]
        return [(w, int(f), t) for w, f, t in rows]
    jieba = rjieba.Jieba()
    codes = itertools.product(range(0xB0, 0xD8), range(0xA1, 0xFF))  # level 1 (0xD7FA- unused)
    chars = [c for code in codes for c in bytes(code).decode("gb2312", "ignore")]
    words = [c for c in chars if jieba.has_word(c)]
    words += [a + b for a in chars for b in chars if jieba.has_word(a + b)]
    rows = [(w, jieba.suggest_freq(w), jieba.tag(w)[0][1]) for w in words]
    cache.write_text("".join(f"{w}\t{f}\t{t}\n" for w, f, t in rows))
    return rows


class Sampler:
    """Words drawn in proportion to their dictionary frequency."""

    def __init__(self, rows):
        self.words = [w for w, _f, _t in rows]
        self.cumulative = list(itertools.accumulate(f for _w, f, _t in rows))

    def draw(self, rng, k=1):
        total = self.cumulative[-1]
        return [self.words[bisect.bisect(self.cumulative, rng.random() * total)] for _ in range(k)]


def announcement(rng, text_words, content_words):
    title = "".join(content_words.draw(rng, rng.randint(2, 3))) + rng.choice(NOTICE_WORDS)
    sentences, length = [], rng.randint(150, 600)
    while sum(map(len, sentences)) < length:
        clauses = ["".join(text_words.draw(rng, rng.randint(4, 10))) for _ in range(3)]
        sentences.append("，".join(clauses[: rng.randint(1, 3)]) + "。")
    sentences += [line for share, line in BOILERPLATE if rng.random() < share]
    body = "".join(sentences)
    if rng.random() < 0.9:
        title, body = TO_HK.convert(title), TO_HK.convert(body)
    return title, body


def step(n):
    digits = ""
    for _ in range(4):
        n, rest = divmod(n, len(ALPHABET))
        digits = ALPHABET[rest] + digits
    return digits


def parent_page():
    home = Site.objects.get(is_default_site=True).root_page
    parent = Page.objects.child_of(home).filter(slug=MARKER).first()
    if parent is None:
        parent = home.add_child(instance=Page(title="Bench", slug=MARKER, live=True))
    return parent


def load(count, rng, rows):
    parent = parent_page()
    have = Page.objects.child_of(parent).count()
    if have >= count:
        return have
    text_words = Sampler(rows)
    content_words = Sampler([r for r in rows if len(r[0]) == 2 and r[2] in CONTENT_TAGS])
    page_type = ContentType.objects.get_for_model(Page)
    locale = Locale.get_default()
    now = timezone.now()
    pages = []
    for n in range(have + 1, count + 1):
        title, body = announcement(rng, text_words, content_words)
        slug = f"a{n}"
        expires = now + timezone.timedelta(days=rng.randint(1, 90)) if rng.random() < 0.3 else None
        pages.append(
            Page(
                title=title,
                draft_title=title,
                slug=slug,
                path=parent.path + step(n),
                depth=parent.depth + 1,
                numchild=0,
                url_path=f"{parent.url_path}{slug}/",
                content_type=page_type,
                locale=locale,
                translation_key=uuid.uuid4(),
                live=True,
                first_published_at=now - timezone.timedelta(minutes=100 * n),
                expire_at=expires,
                search_description=body,
            )
        )
    Page.objects.bulk_create(pages, batch_size=1000)
    Page.objects.filter(pk=parent.pk).update(numchild=count)
    started = time.perf_counter()
    missing = (
        Page.objects.child_of(parent)
        .exclude(pk__in=SearchEntry.objects.values("page_id"))
        .select_related("locale")
    )
    search.index_pages(missing.iterator(chunk_size=500))
    print(f"indexed {count - have} pages in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cms_searchentry")
        cursor.execute("ANALYZE wagtailcore_page")
    return count


def timed(query):
    started = time.perf_counter()
    ids = search.ranked_page_ids(query)  # what /search/ does for its first page
    search.specific_pages(ids[:20])
    return (time.perf_counter() - started) * 1000, len(ids)


def matches(query):
    chinese, _latin = search.query_terms(query)
    raw = " & ".join(f"'{term}'" for term in chinese)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM cms_search_matches(to_tsquery('simple', %s), now(), %s, 0)",
            [raw, 2_000_000_000],
        )
        return cursor.fetchone()[0]


def quantile(values, q):
    values = sorted(values)
    return values[max(int(len(values) * q) - 1, 0)]


def report(name, timings, counts):
    print(
        f"{name}: {len(timings)} queries; pages matched: median {statistics.median(counts):.0f}, "
        f"p95 {quantile(counts, 0.95)}, max {max(counts)}; over {search.RANKED_MATCHES} "
        f"(newest first): {sum(c > search.RANKED_MATCHES for c in counts)}"
    )
    print(
        f"  p50 {statistics.median(timings):.1f} ms, p95 {quantile(timings, 0.95):.1f} ms, "
        f"max {max(timings):.1f} ms"
    )
    return quantile(timings, 0.95)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (DATABASE_URL=postgres://…).")
    call_command("migrate", verbosity=0)
    rows = vocabulary()
    total = load(args.count, random.Random(20261129), rows)
    rng = random.Random(20261130)  # the same queries whether the corpus was loaded or not
    queries = Sampler([r for r in rows if len(r[0]) == 2 and r[2] in QUERY_TAGS])
    top = sorted((r for r in rows if len(r[0]) == 2 and r[2] in QUERY_TAGS), key=lambda r: -r[1])[
        :5
    ]
    common = COMMON + [w for w, _f, _t in top] + [TO_HK.convert(w) for w, _f, _t in top]
    for query in queries.draw(rng, 20):  # warm-up
        timed(query)
    typed, typed_counts = [], []
    for run, word in enumerate(queries.draw(rng, args.runs)):
        query = TO_HK.convert(word) if run % 2 else word
        typed.append(timed(query)[0])
        typed_counts.append(matches(query))
    frequent, frequent_counts = [], []
    for _ in range(max(args.runs // len(common), 1)):
        for query in common:
            frequent.append(timed(query)[0])
            frequent_counts.append(matches(query))
    print(f"pages: {total}; common words: {' '.join(common)}")
    p95 = report("typed two-character words (half Simplified)", typed, typed_counts)
    report("common words", frequent, frequent_counts)
    print("target p95 < 30 ms (typed):", "met" if p95 < 30 else "NOT met")


if __name__ == "__main__":
    main()
