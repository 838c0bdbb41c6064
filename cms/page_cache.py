"""The public page cache: anonymous readers get the public site from the cache.

What is cached: an anonymous GET of a public Wagtail page (home, announcement lists and pages,
community listings, guides, clinics, standard pages), the announcement feeds and the sitemap:
the body and headers exactly as the view produced them, in the `pages` cache (Redis in
production, files on the embedded default; settings.CACHES). One entry per address (path and
the query parameters that change a page: `lang`, `page`, `category`, `community`), host and
reader's language (the one the middleware chain resolved: `?lang=`, profile, cookie,
Accept-Language), so no reader gets another language's page.

Never cached: anything for a signed-in reader or a request with credentials, a reader with
messages waiting, pages behind a view restriction, answers that are not a plain 200, set a
cookie, are marked private/no-store, or use a CSP nonce (a replayed body would carry a stale
nonce the header no longer allows: public pages use none, and one that starts to is simply
served uncached). Each page's forms carry a CSRF token (the header's language switcher): it is
stored as a placeholder and each reader gets their own token on the way out, so the CSRF
cookie and check work exactly as without the cache.

Purging ("which pages does this change affect": `affected_paths`, the one place for it): every
entry remembers the generation of its path and the site-wide generation it was made under; a
purge starts new generations, so older entries are never served again, in every language and
for every query string at once. A purge runs after the change commits, and an entry rendered
before it is stored under the old generation, never read. Publishing, unpublishing or expiring
(the minute task unpublishes through Wagtail, which sends the same signal) purges the page in
every language, its parents' lists and indexes, the home page, the feeds, the community
listings (the index's `?community=`) and the sitemap. A footer page, a home page, a move, a
slug change, a deletion, and a change to alert banners, categories, communities, services or
clinics purge everything. Entries also expire by themselves at the next scheduled change
(an announcement's expiry, an alert banner's start or end) and after at most
`CMS_PAGE_CACHE_SECONDS`.

Each process also keeps the entries it served last in memory for `CMS_PAGE_CACHE_LOCAL_SECONDS`
(1 s; at most `LOCAL_MAX_ENTRIES`), so a busy page costs no Redis round trip at all: a purge
empties the purging process's memory at once, and other processes serve the old page for at
most that second. An address held there is answered before the URL is resolved (its entry got
there only through this process's routing to a cached view), with the body already cut around
the CSRF placeholder; each reader's token is made as Django makes it, from one call to the
OS's random generator (`portal.csrf.reader_csrf_token`). A hit costs about the CPU of the bare
ceiling view (docs/benchmarks.md).

While Redis is away or frozen the `pages` cache answers nothing after at most one timeout
(portal/cache.py, the shared breaker): pages are rendered as without a cache, and no page is
written to the database fallback where it could crowd out the sign-in rate limits.
"""

import hashlib
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict
from datetime import timedelta

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation

from portal.csrf import reader_csrf_token

CACHE_ALIAS = "pages"
HEADER = "X-Page-Cache"  # "hit" or "miss": what operators and the benchmark look at
# Views whose anonymous answers are the same for every reader of a language.
CACHED_VIEWS = {"wagtail_serve", "cms:feed_rss", "cms:feed_atom", "cms:sitemap"}
# Query parameters that change a public page; an address with any other is not cached (so a
# crawler's random parameters cannot fill the cache).
VARYING_PARAMETERS = {"lang", "page", "category", "community"}
MAX_PARAMETER_LENGTH = 40
SITE_GENERATION = "cms:page-gen:site"
CSRF_INPUT = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
CSRF_PLACEHOLDER = b"portal-page-cache-csrf"
CSRF_FIELD = b'name="csrfmiddlewaretoken" value="'
CSRF_STORED = CSRF_FIELD + CSRF_PLACEHOLDER + b'"'


def page_cache():
    """The `pages` cache; None where settings.CACHES names none (the page cache is off)."""
    return caches[CACHE_ALIAS] if CACHE_ALIAS in settings.CACHES else None


# Entries this process served in the last CMS_PAGE_CACHE_LOCAL_SECONDS, ready to answer with:
# {key: (when, Prepared, path)}; and how many of them each path has, so that a request for any
# other address (the ceiling's, an API's) passes by with one set lookup, no key worked out.
LOCAL_MAX_ENTRIES = 256
_local = OrderedDict()
_local_paths = Counter()
_local_lock = threading.Lock()


def local_get(key):
    seconds = settings.CMS_PAGE_CACHE_LOCAL_SECONDS
    if not seconds:
        return None
    with _local_lock:
        found = _local.get(key)
    if found is not None and time.monotonic() - found[0] < seconds:
        return found[1]
    return None


def local_put(key, prepared, path):
    if not settings.CMS_PAGE_CACHE_LOCAL_SECONDS:
        return
    with _local_lock:
        if key in _local:
            _count_out(_local[key][2])
        _local[key] = (time.monotonic(), prepared, path)
        _local_paths[path] += 1
        _local.move_to_end(key)
        while len(_local) > LOCAL_MAX_ENTRIES:
            _key, (_when, _prepared, gone) = _local.popitem(last=False)
            _count_out(gone)


def _count_out(path):
    _local_paths[path] -= 1
    if _local_paths[path] <= 0:
        del _local_paths[path]


def held_locally(path):
    return path in _local_paths


def forget_local():
    with _local_lock:
        _local.clear()
        _local_paths.clear()


def path_generation_key(path):
    return "cms:page-gen:" + hashlib.sha256(path.encode()).hexdigest()[:32]


# Which pages a change affects: the one place for the rule ------------------------------------

ALL = object()  # a change that may show on any page


def affected_paths(page):
    """The addresses whose cached answers `page` being published, unpublished or expired may
    change, in every language; `ALL` when the change can show on every page."""
    from .models import HomePage, StandardPage

    page = page.specific
    if isinstance(page, HomePage | StandardPage):
        return ALL  # the home page is every page's root; standard pages fill the footer
    paths = {reverse("cms:feed_rss"), reverse("cms:feed_atom"), reverse("cms:sitemap")}
    for version in page.get_translations(inclusive=True):
        # The page, its parents' lists and indexes up to the home page: for announcements the
        # index (with its community listings) and the home page's latest announcements.
        for each in version.get_ancestors(inclusive=True).filter(depth__gt=1):
            parts = each.get_url_parts()
            if parts is not None and parts[2]:
                paths.add(parts[2])
    return paths


def purge(paths):
    """Start new generations for `paths` (or the whole site for `ALL`), now and again once the
    change that caused it commits; entries made under the old ones are never served again."""

    def bump():
        forget_local()
        cache = page_cache()
        if cache is None:
            return
        token = uuid.uuid4().hex
        keys = [SITE_GENERATION] if paths is ALL else [path_generation_key(p) for p in paths]
        cache.set_many(dict.fromkeys(keys, token), timeout=None)

    bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bump)  # again: a page rendered before the commit is not kept


def purge_page(page):
    purge(affected_paths(page))


def purge_all():
    purge(ALL)


def lifetime(now=None):
    """Seconds an entry made now stays valid: until the next scheduled change to what public
    pages list (an announcement's expiry, an alert banner's start or end), at most
    CMS_PAGE_CACHE_SECONDS."""
    from django.db.models import Min

    from .models import AlertBanner, AnnouncementPage

    now = now or timezone.now()
    seconds = settings.CMS_PAGE_CACHE_SECONDS
    upcoming = [
        AnnouncementPage.objects.live()
        .filter(expire_at__gt=now)
        .aggregate(at=Min("expire_at"))["at"],
        *AlertBanner.objects.filter(is_active=True)
        .aggregate(
            starts=Min("starts_at", filter=_after("starts_at", now)),
            ends=Min("ends_at", filter=_after("ends_at", now)),
        )
        .values(),
    ]
    for moment in upcoming:
        if moment is not None:
            seconds = min(seconds, max(1, int((moment - now) / timedelta(seconds=1)) + 1))
    return seconds


def _after(field, now):
    from django.db.models import Q

    return Q(**{f"{field}__gt": now})


# Serving from the cache -----------------------------------------------------------------------


def is_anonymous_reader(request):
    """A reader whose page is the same as every other anonymous reader's of that language."""
    if request.method not in ("GET", "HEAD") or "authorization" in request.headers:
        return False
    if CookieStorage.cookie_name in request.COOKIES:
        return False  # a message waits to be shown ("You have signed out.")
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True  # no session: nobody signed in, no message kept there
    return not (request.user.is_authenticated or request.session.get(SessionStorage.session_key))


def entry_key(request, language):
    query = sorted(request.GET.lists())
    for name, values in query:
        if name not in VARYING_PARAMETERS or any(len(v) > MAX_PARAMETER_LENGTH for v in values):
            return None
    address = "\n".join(
        [request.scheme, request.get_host(), request.path, repr(query), language]
    ).encode()
    return "cms:page:" + hashlib.sha256(address).hexdigest()


class Lookup:
    """One request's view of the cache: the entry if a current one exists, and the
    generations a new one would be stored under."""

    def __init__(self, request, key):
        self.key = key
        self.generation_keys = [path_generation_key(request.path), SITE_GENERATION]
        self.generations = None
        self.entry = None

    def fetch(self):
        cache = page_cache()
        found = cache.get_many([self.key, *self.generation_keys])
        generations = [found.get(key) or self.start(key) for key in self.generation_keys]
        if None in generations:
            return None
        self.generations = generations
        entry = found.get(self.key)
        if entry is not None and entry.get("generations") == generations:
            self.entry = entry
        return self.entry

    @staticmethod
    def start(key):
        """A path never purged (or forgotten by Redis) gets its generation now, so that an
        entry from before a lost generation can never be taken for a current one."""
        cache = page_cache()
        token = uuid.uuid4().hex
        return token if cache.add(key, token, timeout=None) else cache.get(key)


class Prepared:
    """An entry made ready to answer with, once per process rather than once per hit: the body
    cut around the CSRF placeholder, the headers as a dict with the hit marker."""

    __slots__ = ("parts", "status", "headers")

    def __init__(self, entry):
        content = entry["content"]
        # Without the placeholder (no form on the page) the body is one part, sent as stored.
        self.parts = content.split(CSRF_STORED) if entry.get("csrf") else [content]
        self.status = entry["status"]
        self.headers = {**dict(entry["headers"]), HEADER: "hit"}

    def response(self, request):
        if len(self.parts) == 1:
            content = self.parts[0]
        else:
            token = CSRF_FIELD + reader_csrf_token(request).encode() + b'"'
            content = token.join(self.parts)
        return HttpResponse(content, status=self.status, headers=self.headers)


def storable(request, response):
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if {"private", "no-store", "no-cache"} & {
        part.strip().split("=")[0] for part in response.get("Cache-Control", "").lower().split(",")
    }:
        return False
    if getattr(request, "_csp_nonce", None) is not None:
        return False  # the body names a nonce only this answer's header allows
    if request.resolver_match.view_name == "wagtail_serve":
        # Only public pages that served themselves (BasePage.serve names itself): not a
        # password form, nor a page behind a view restriction.
        page = getattr(request, "served_page", None)
        return page is not None and not page.get_view_restrictions().exists()
    return True


def store(request, response, lookup):
    if lookup.generations is None or not storable(request, response):
        return
    content = response.content
    content, replaced = CSRF_INPUT.subn(
        lambda m: m.group(1) + CSRF_PLACEHOLDER + m.group(2), content
    )
    entry = {
        "generations": lookup.generations,
        "status": response.status_code,
        "headers": [(k, v) for k, v in response.items() if k.lower() != HEADER.lower()],
        "content": content,
        "csrf": bool(replaced),
    }
    page_cache().set(lookup.key, entry, timeout=lifetime())
    response.headers[HEADER] = "miss"


class PublicPageCacheMiddleware:
    """Serves anonymous readers' public pages from the cache, and stores them (last in
    MIDDLEWARE, so entries hold the view's answer and every other middleware still runs on a
    cached one: CSRF cookie, security headers, Content-Language).

    A page in this process's memory is answered before the address is resolved: every entry
    there was found through process_view, after this process's URLconf routed that very key
    (host, path, query, language) to a cached view, so the routing is known. An entry only in
    the shared cache (another process's, or from before a deploy) is trusted only once the
    address has been routed here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if held_locally(request.path) and settings.CMS_PAGE_CACHE_SECONDS:
            key = address_key(request)
            prepared = local_get(key) if key is not None else None
            # Whether the reader may have it is asked only of an address held: other requests
            # load no session here.
            if prepared is not None and is_anonymous_reader(request):
                return prepared.response(request)
        response = self.get_response(request)
        lookup = getattr(request, "_page_cache_lookup", None)
        if lookup is not None and lookup.entry is None and request.method == "GET":
            store(request, response, lookup)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.CMS_PAGE_CACHE_SECONDS or page_cache() is None:
            return None
        match = request.resolver_match
        if match is None or match.view_name not in CACHED_VIEWS:
            return None
        if not is_anonymous_reader(request):
            return None
        key = address_key(request)
        if key is None:
            return None
        prepared = local_get(key)
        if prepared is not None:
            return prepared.response(request)
        lookup = Lookup(request, key)
        request._page_cache_lookup = lookup
        entry = lookup.fetch()
        if entry is None:
            return None
        prepared = Prepared(entry)
        local_put(key, prepared, request.path)
        return prepared.response(request)


def address_key(request):
    """The entry key of this request's address in the reader's language (None where the query
    is not cached); worked out once per request."""
    try:
        return request._page_cache_key
    except AttributeError:
        request._page_cache_key = entry_key(request, translation.get_language())
        return request._page_cache_key
