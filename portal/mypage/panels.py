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

A panel declares the CSS and JavaScript it needs the way Wagtail's components do, with an
inner `Media` class (a `django.forms.Media`); My page includes the union of its visible
panels' media once, in the page's head (CSS) and at the end of its body (JS):

    class NextAppointmentsPanel(Panel):
        class Media:
            css = {"all": ["booking/panel.css"]}
            js = ["booking/panel.js"]
"""

import logging
import uuid
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

    def render(self, request):
        context = {"panel": self, **self.get_context_data(request)}
        return render_to_string(self.template_name, context, request=request)


@dataclass
class RenderedPanel:
    panel: Panel
    html: SafeString | str
    failed: bool = False

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


def _resident_key(user):
    # The id and the moment the account was made: an id a database hands out again (an
    # SQLite test database rolled back) never finds another account's fragments.
    return f"{user.pk}.{user.date_joined.timestamp():.6f}"


def generation(user):
    """The resident's current generation token; a new one when none is stored (first visit,
    or the token was evicted: fragments cached under an older token are never used again)."""
    key = GENERATION_KEY.format(user.pk)
    _read(user.pk)
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, None)
        token = cache.get(key) or uuid.uuid4().hex
    return token


def request_generation(request):
    """The signed-in resident's generation, read once per request."""
    token = getattr(request, "_mypage_generation", None)
    if token is None:
        token = request._mypage_generation = generation(request.user)
    return token


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
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, seconds)
    return value


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


def render_panel(panel, request, key=None, cached=None):
    """Render one panel, or take it from `cached` ({key: html}, read for all panels at once)
    under `key`, storing a fresh rendering there; a failure is logged and becomes an
    'unavailable' placeholder."""
    try:
        # Its media too: a file missing from the static manifest must fail this panel alone,
        # not the page's head.
        panel.media.render()
        if key is None:
            return RenderedPanel(panel, panel.render(request))
        html = (cached or {}).get(key)
        if html is None:
            html = panel.render(request)
            cache.set(key, str(html), panel.cache_seconds)
        return RenderedPanel(panel, SafeString(html))
    except Exception:
        logger.exception("My page panel %r failed for user %s", panel.slug, request.user.pk)
        return RenderedPanel(panel, "", failed=True)


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
