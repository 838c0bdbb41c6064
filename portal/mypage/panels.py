"""The My page panel registry.

Every app contributes panels from its `wagtail_hooks.py`:

    from wagtail import hooks
    from portal.mypage.panels import Panel

    class NextAppointmentsPanel(Panel):
        slug = "appointments"
        title = _("Next appointments")
        order = 30
        template_name = "booking/panels/appointments.html"

        def get_context_data(self, request):
            return {"appointments": upcoming_for(request.user)[:3]}

    @hooks.register("register_mypage_panel")
    def register_appointments_panel():
        return NextAppointmentsPanel()

A panel gets the request and returns a rendered fragment. It must stay cheap: a bounded
number of queries, whatever the size of the resident's data. A panel that raises is logged
and shown as unavailable; the rest of the page still renders.

A panel may have its rendered fragment **cached per resident** (`cache_seconds` > 0). The
key holds the resident's id, the panel, the language, the local date and the resident's
*generation*, a token replaced by `changed(user_id)` whenever something that a cached panel
shows changes for them: a save or delete of a model in a panel's `invalidated_by` (a map from
model to the path of its user id, connected by `connect_invalidation()` at start-up), and any
status change of theirs through portal.workflow (`transitioned`, and `recorded_unchanged`
for a bulk job's history rows: due dates a calendar change moved); apps call `changed()`
themselves for changes made without either (the FHIR store's writes, for records; the
inbox's mark-read and merge UPDATEs). So a
fragment is only ever served to the resident it was rendered for, and never after a change
that affects it; `cache_seconds` bounds what no signal reports (a clinic renamed). Panels
that show live data (departures) or are cheap stay uncached.

A cached panel's `is_shown()` is kept with its fragments too (its `invalidated_by` must cover
what `is_shown` reads: the connected-apps panel's record link and connections), and a cached
panel may decline to have one rendering stored (`may_cache(context)` false: the departures
panel once the resident has favourite stops, whose times are live); such a rendering is made
afresh on every visit.

The whole of My page is cached as well (views.py, `page_key()`, `read_page()`): per
resident, language, day and path, served only under the generation and the site's footer
epoch (`site_changed()`) it was rendered under, with the CSRF token and the panels rendered
live left as placeholders filled in on every visit.

A panel declares the CSS and JavaScript it needs the way Wagtail's components do, with an
inner `Media` class (a `django.forms.Media`); My page includes the union of its visible
panels' media once, in the page's head (CSS) and at the end of its body (JS):

    class NextAppointmentsPanel(Panel):
        class Media:
            css = {"all": ["booking/panel.css"]}
            js = ["booking/panel.js"]
"""

import hashlib
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.forms.widgets import Media, MediaDefiningClass
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from wagtail import hooks

logger = logging.getLogger(__name__)

HOOK_NAME = "register_mypage_panel"


class Panel(metaclass=MediaDefiningClass):
    slug = ""
    title = ""
    order = 100
    template_name = None

    def is_shown(self, request):
        """Whether this panel applies to the user at all (not the user's hide preference)."""
        return True

    # Seconds a rendered fragment may be served from the per-resident cache (0: never cached),
    # and {model: "path to its user id"} whose saves and deletes change this panel.
    cache_seconds = 0
    invalidated_by = {}

    def get_context_data(self, request):
        return {}

    def may_cache(self, context):
        """Whether a rendering from this context may be stored (a cached panel only)."""
        return True

    def render(self, request):
        return self._render_template(request)[0]

    def render_cacheable(self, request):
        """(html, whether it may be stored in the per-resident cache)."""
        if type(self).render is not Panel.render:  # a panel that renders itself
            return self.render(request), True
        return self._render_template(request)

    def _render_template(self, request):
        context = {"panel": self, **self.get_context_data(request)}
        html = render_to_string(self.template_name, context, request=request)
        return html, self.may_cache(context)

    @classmethod
    def shown_with_fragments(cls):
        """Whether `is_shown` is kept in the cache with the fragments (a cached panel's is),
        or needs no reading (the default)."""
        return cls.is_shown is Panel.is_shown or bool(cls.cache_seconds)


@dataclass
class RenderedPanel:
    panel: Panel
    html: SafeString | str
    failed: bool = False
    live: bool = True  # rendered for this visit alone: not part of a cached page

    @property
    def slug(self):
        return self.panel.slug

    @property
    def title(self):
        return self.panel.title


def registered_panels():
    """All panels from every app, by default order, with unique slugs."""
    panels = [fn() for fn in hooks.get_hooks(HOOK_NAME)]
    seen = set()
    for panel in panels:
        if not panel.slug or panel.slug in seen:
            raise ValueError(f"My page panel slugs must be unique and non-empty: {panel.slug!r}")
        seen.add(panel.slug)
    return sorted(panels, key=lambda p: (p.order, p.slug))


GENERATION_KEY = "mypage:generation:{}"
SITE_EPOCH_KEY = "mypage:site-epoch"


def _resident_key(user):
    # The id and the moment the account was made: an id a database hands out again (an
    # SQLite test database rolled back) never finds another account's fragments.
    return f"{user.pk}.{user.date_joined.timestamp():.6f}"


def _token(key, missing=False):
    """The token stored at `key`; a new one when none is stored (first use, or evicted:
    whatever was cached under an older token is never used again). `missing`: the caller
    has just found none there (one call fewer)."""
    return _new_token(key, missing)[0]


def _new_token(key, missing=False):
    """(the token at `key`, whether this call made it): a token this call made is known to
    nobody else yet, so nothing can be stored under it."""
    token = None if missing else cache.get(key)
    if token is not None:
        return token, False
    token = uuid.uuid4().hex
    if cache.add(key, token, None):
        return token, True
    return cache.get(key) or uuid.uuid4().hex, False  # another request stored one meanwhile


def generation(user):
    """The resident's current generation token."""
    _read(user.pk)
    return _token(GENERATION_KEY.format(user.pk))


def request_generation(request):
    """The signed-in resident's generation, read once per request, with the site's epoch
    (`site_changed()`) in the same call."""
    _read_tokens(request)
    return request._mypage_generation


def _read_tokens(request, keys=()):
    """Read the resident's generation and the site's epoch once per request (kept on the
    request), with `keys` in the same cache call; returns what was found of `keys`."""
    if getattr(request, "_mypage_generation", None) is not None:
        return cache.get_many(list(keys)) if keys else {}
    generation_key = GENERATION_KEY.format(request.user.pk)
    _read(request.user.pk)
    found = cache.get_many([generation_key, SITE_EPOCH_KEY, *keys])
    generation = found.get(generation_key)
    if generation is None:
        generation, request._mypage_new_generation = _new_token(generation_key, True)
    request._mypage_generation = generation
    request._mypage_site_epoch = found.get(SITE_EPOCH_KEY) or _token(SITE_EPOCH_KEY, True)
    return found


def request_site_epoch(request):
    request_generation(request)
    return request._mypage_site_epoch


def site_changed():
    """Something every resident's My page shows beyond its panels changed (the footer's
    links): no cached page is used again. Inside a transaction, again when it commits."""

    def bump():
        cache.set(SITE_EPOCH_KEY, uuid.uuid4().hex, None)

    bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bump)


_MISSING = object()


def resident_value(request, name, compute, seconds=300):
    """A small value of the signed-in resident's (their unread count, their My page layout):
    `compute()` once, then served from the cache under their generation, so the same
    `changed()` calls that drop their fragments drop it; the caller makes sure every change
    of what it depends on calls `changed()` (a model in a panel's `invalidated_by`, or by
    hand). Not language-dependent; computed each time when the panel cache is off."""
    user = request.user
    if not settings.MYPAGE_CACHE_PANELS or not user.is_authenticated:
        return compute()
    key = f"mypage:value:{name}:{_resident_key(user)}:{request_generation(request)}"
    pending = getattr(request, "_mypage_pending", None)
    value = _MISSING
    if pending is not None:
        value = pending.get(seconds, {}).get(key, _MISSING)
    if value is _MISSING and not nothing_kept(request):
        value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        if pending is not None:
            pending.setdefault(seconds, {})[key] = value  # stored with the page's fragments
        else:
            cache.set(key, value, seconds)
    return value


def nothing_kept(request):
    """Whether the resident's generation was made by this request (a first visit, or the
    token evicted): nothing can be stored under it yet, so nothing is looked up."""
    request_generation(request)
    return getattr(request, "_mypage_new_generation", False)


@contextmanager
def stores_collected(request):
    """A block in which resident_value() keeps what it computes in the {seconds: {key:
    value}} it yields, where render_panel() puts fresh fragments and My page the page itself:
    stored at its end, one call per cache time (store_fragments), unless it raises."""
    request._mypage_pending = pending = {}
    try:
        yield pending
    finally:
        request._mypage_pending = None
    store_fragments(pending)


def _bump(ids):
    cache.set_many({GENERATION_KEY.format(i): uuid.uuid4().hex for i in ids}, None)


class _Pending:
    """The residents whose tokens a transaction's commit replaces: one cache call for every
    `changed()` of the transaction (a booking makes three: the appointment's save, the
    inbox message's save, the workflow's `transitioned`)."""

    def __init__(self, savepoints):
        self.savepoints = savepoints
        self.ids = set()
        # Bumped now and not read since on this connection: another bump now changes nothing
        # (other connections do not see this transaction's writes; the commit bump is for them).
        self.unread = set()
        self.done = False

        def flush():
            self.done = True
            if self.ids:
                _bump(self.ids)

        self.flush = flush


def _pending(connection):
    """This transaction's _Pending, registered with on_commit; a new one when there is none,
    it ran, a rolled-back savepoint took its callback, or the savepoints differ."""
    pending = getattr(connection, "_mypage_pending", None)
    savepoints = tuple(sid for sid in connection.savepoint_ids if sid)  # None: no savepoint
    if (
        pending is None
        or pending.done
        or pending.savepoints != savepoints
        or not any(entry[1] is pending.flush for entry in connection.run_on_commit)
    ):
        pending = connection._mypage_pending = _Pending(savepoints)
        transaction.on_commit(pending.flush)
    return pending


def changed(*user_ids):
    """Something cached panels show changed for these residents: drop their fragments. Call
    inside or outside a transaction; inside, it takes effect again when it commits (a page
    rendered meanwhile read the old data and must not stay cached under the new token). The
    calls of one transaction are folded: one cache call now for residents not already bumped
    (and not read since), one at the commit for all."""
    ids = {int(i) for i in user_ids if i}
    if not ids:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _bump(ids)
        return
    pending = _pending(connection)
    fresh = ids - pending.unread
    if fresh:
        _bump(fresh)
        pending.unread |= fresh
    pending.ids |= ids


def _read(user_id):
    """A token was read on this connection: the next `changed()` for them bumps at once."""
    pending = getattr(transaction.get_connection(), "_mypage_pending", None)
    if pending is not None:
        pending.unread.discard(user_id)


def fragment_keys(panels, request, token):
    """{slug: cache key} of the panels that may be cached, for this resident, generation,
    language and day."""
    user = request.user
    if token is None or not user.is_authenticated or not settings.MYPAGE_CACHE_PANELS:
        return {}
    suffix = ":".join(
        [
            _resident_key(user),
            token,
            translation.get_language() or "",
            timezone.localdate().isoformat(),
        ]
    )
    return {p.slug: f"mypage:panel:{p.slug}:{suffix}" for p in panels if p.cache_seconds}


def render_panel(panel, request, key=None, cached=None, store=None):
    """Render one panel, or take it from `cached` ({key: html}, read for all panels at once)
    under `key`, storing a fresh rendering there unless the panel declines (into `store`,
    {seconds: {key: html}}, when given: the caller stores them all at once, store_fragments);
    a failure is logged and becomes an 'unavailable' placeholder."""
    try:
        # Its media too: a file missing from the static manifest must fail this panel alone,
        # not the page's head.
        panel.media.render()
        if key is None:
            return RenderedPanel(panel, panel.render(request))
        html = (cached or {}).get(key)
        if html is not None:
            return RenderedPanel(panel, SafeString(html), live=False)
        html, storable = panel.render_cacheable(request)
        if storable and store is not None:
            store.setdefault(panel.cache_seconds, {})[key] = str(html)
        elif storable:
            cache.set(key, str(html), panel.cache_seconds)
        return RenderedPanel(panel, SafeString(html), live=not storable)
    except Exception:
        logger.exception("My page panel %r failed for user %s", panel.slug, request.user.pk)
        return RenderedPanel(panel, "", failed=True)


def store_fragments(store):
    """Store the fragments render_panel() collected: one call per cache time."""
    for seconds, fragments in store.items():
        cache.set_many(fragments, seconds)


def shown_panels(request, panels=None):
    """The panels that apply to the signed-in resident. A cached panel's `is_shown` is read
    once and kept under the resident's generation, for the shortest of those panels' times."""
    panels = registered_panels() if panels is None else panels
    kept = [p for p in panels if p.cache_seconds and type(p).is_shown is not Panel.is_shown]
    shown = set()
    if kept:
        shown = set(
            resident_value(
                request,
                "shown:" + ",".join(p.slug for p in kept),
                lambda: [p.slug for p in kept if p.is_shown(request)],
                seconds=min(p.cache_seconds for p in kept),
            )
        )
    return [p for p in panels if (p.slug in shown if p in kept else p.is_shown(request))]


def page_key(request, panels):
    """The cache key of the signed-in resident's whole My page, or None when it may not be
    cached: the cache is off, a message waits to be shown once, a panel's `is_shown` would
    have to be asked on every visit, the address has a query string, or Redis is away (the
    fallback table keeps the sign-in limits and used codes; pages must not crowd them).
    Everything the page shows is under the key or in the tokens stored with it
    (`read_page()`): the resident, the language, the day, the path, whether the header links
    to the back office (decided at sign-in, kept in the session: portal.accounts.signals) and
    the panels registered; their generation (their panels, layout, unread count) and the
    site's epoch (the footer)."""
    from django.contrib.messages import get_messages

    if not settings.MYPAGE_CACHE_PANELS or not request.user.is_authenticated:
        return None
    if not all(type(p).shown_with_fragments() for p in panels) or len(get_messages(request)):
        return None
    if request.GET:
        return None  # My page takes no parameters: an address with any is not cached
    breaker = getattr(cache, "breaker", None)
    if breaker is not None and breaker.is_open():
        return None  # Redis is away: no whole page goes to the fallback table (portal/cache.py)
    path = hashlib.sha256(request.path.encode()).hexdigest()[:24]
    return ":".join(
        [
            "mypage:page",
            _resident_key(request.user),
            translation.get_language() or "",
            timezone.localdate().isoformat(),
            "staff" if request.session.get("portal_staff") else "resident",
            path,
            # The panels there are (a deploy may add one; its page must not wait).
            hashlib.sha256(",".join(p.slug for p in panels).encode()).hexdigest()[:12],
        ]
    )


def read_page(request, key):
    """The page stored under `key` if it was rendered under the resident's current
    generation and the site's current epoch, else None; the generation and the epoch are
    read in the same call (and kept for the request, `request_generation()`)."""
    entry = _read_tokens(request, [key]).get(key)
    if entry is not None and entry.get("tokens") == page_tokens(request):
        return entry
    return None


def page_tokens(request):
    """What a stored page must have been rendered under to be served."""
    return [request_generation(request), request_site_epoch(request)]


def page_seconds(panels):
    """How long a whole page may be kept: the shortest time of any cached panel."""
    return min((p.cache_seconds for p in panels if p.cache_seconds), default=0)


def panels_media(rendered):
    """The union of the media of the panels shown (each file once, in declared order)."""
    return sum((item.panel.media for item in rendered if not item.failed), Media())


def _value_at(obj, path):
    for name in path.split("__"):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def connect_invalidation():
    """Connect the saves and deletes of every cached panel's `invalidated_by` models to
    `changed()`, and portal.workflow's status changes and bulk history rows (called from
    MyPageConfig.ready())."""
    from portal.workflow.signals import recorded_unchanged, transitioned

    from .models import PanelLayout

    for panel in registered_panels():
        for model, path in panel.invalidated_by.items():
            _connect(model, path)
    _connect(PanelLayout, "user_id")  # the layout is kept with the fragments (views.py)
    transitioned.connect(_transitioned, dispatch_uid="mypage-transitioned")
    recorded_unchanged.connect(_recorded_unchanged, dispatch_uid="mypage-recorded-unchanged")


def _connect(model, path):
    def receiver(sender, instance, **kwargs):
        changed(_value_at(instance, path))

    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"mypage-{model}")
    post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"mypage-del-{model}")


# The foreign keys that name the resident an object of a workflow belongs to, read without a
# query (a transition's statement count is pinned).
OWNER_ATTNAMES = ("resident_id", "applicant_id", "holder_id", "user_id", "owner_id")


def _owner_attname(model):
    names = {f.attname for f in model._meta.concrete_fields}
    return next((a for a in OWNER_ATTNAMES if a in names), None)


def _transitioned(sender, change, **kwargs):
    for attname in OWNER_ATTNAMES:
        owner = getattr(change.obj, attname, None)
        if owner:
            changed(owner)
            return


def _recorded_unchanged(sender, changes, **kwargs):
    """A bulk job's history rows (a calendar change moved due dates): the residents of their
    objects, one query per model in the batch."""
    from django.apps import apps

    by_model = {}
    for change in changes:
        by_model.setdefault(change.model, set()).add(change.object_id)
    for label, ids in by_model.items():
        model = apps.get_model(label)
        attname = _owner_attname(model)
        if attname is not None:
            changed(*model._default_manager.filter(pk__in=ids).values_list(attname, flat=True))
