"""Chinese site search on 20,000 announcements: p50/p95 of a two-character query.

Loads --count synthetic announcements (unless they are there already) as live pages under one
parent with their search entries built by cms.search.index_page, exactly as publishing builds
them, then times cms.search.search_pages (what /search/ calls: tsquery on the GIN index,
ts_rank, live and expiry filters, one result per translation, the specific pages) for
two-character words drawn from the same Zipf-like distribution as the text, half of them typed
in the other script. Target: p95 < 30 ms.

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_cms_bench \\
        .venv/bin/python bench/cms_search.py --count 20000 --runs 300
"""

import argparse
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

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from wagtail.models import Locale, Page, Site  # noqa: E402

from opencc import OpenCC  # noqa: E402

from cms import search  # noqa: E402
from cms.models import SearchEntry  # noqa: E402

MARKER = "bench-search"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Common characters of district notices (Traditional); words are pairs of them.
CHARS = (
    "長者卡申請社會福利服務中心區議會居民街道社區診所預約疫苗接種巴士路線時間表通告停水停電"
    "道路工程封閉改道活動講座報名免費健康檢查家庭兒童青年婦女義工環境衞生垃圾回收公園圖書館"
    "文化體育場地租用天氣颱風暴雨警告學校假期選舉登記稅務房屋維修安全消防警察交通意外醫院藥物"
)
T2S = OpenCC("t2s")


def vocabulary(rng, size=600):
    words = set()
    while len(words) < size:
        words.add(rng.choice(CHARS) + rng.choice(CHARS))
    return sorted(words)


def zipf_choice(rng, words):
    # Rank r is chosen with weight 1/r: a few very common words, a long tail.
    index = min(int(len(words) ** rng.random()) - 1, len(words) - 1)
    return words[index]


def sentence(rng, words, length):
    return "".join(zipf_choice(rng, words) for _ in range(length // 2)) + "。"


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


def load(count, rng, words):
    parent = parent_page()
    have = Page.objects.child_of(parent).count()
    if have >= count:
        return have
    page_type = ContentType.objects.get_for_model(Page)
    locale = Locale.get_default()
    now = timezone.now()
    pages = []
    for n in range(have + 1, count + 1):
        title = sentence(rng, words, rng.randint(6, 12))[:-1]
        slug = f"a{n}"
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
                first_published_at=now - timezone.timedelta(minutes=n),
                search_description=sentence(rng, words, rng.randint(60, 160)),
            )
        )
    Page.objects.bulk_create(pages, batch_size=1000)
    Page.objects.filter(pk=parent.pk).update(numchild=count)
    started = time.perf_counter()
    missing = Page.objects.child_of(parent).exclude(pk__in=SearchEntry.objects.values("page_id"))
    # (index_page per page, as publishing does: about 50 ms each on a loaded machine)
    for page in missing.iterator():
        search.index_page(page)
    print(f"indexed {count - have} pages in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cms_searchentry")
        cursor.execute("ANALYZE wagtailcore_page")
    return count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (DATABASE_URL=postgres://…).")
    call_command("migrate", verbosity=0)
    rng = random.Random(20261129)
    words = vocabulary(rng)
    total = load(args.count, rng, words)
    timings, matches = [], []
    for run in range(args.runs + 20):
        word = zipf_choice(rng, words)
        query = T2S.convert(word) if run % 2 else word
        started = time.perf_counter()
        ids = search.ranked_page_ids(query)  # what /search/ does for its first page
        search.specific_pages(ids[:20])
        elapsed = (time.perf_counter() - started) * 1000
        if run >= 20:  # warm-up
            timings.append(elapsed)
            matches.append(len(ids))
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"pages: {total}, queries: {len(timings)} two-character words (half in Simplified)")
    matches.sort()
    print(
        f"pages matched per query (ranked up to {search.RANK_CAP}): median "
        f"{statistics.median(matches):.0f}, p95 {matches[int(len(matches) * 0.95) - 1]}"
    )
    print(f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms")
    print("target p95 < 30 ms:", "met" if p95 < 30 else "NOT met")


if __name__ == "__main__":
    main()
