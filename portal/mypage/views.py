import dataclasses
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.csrf import reader_csrf_token

from .models import PanelLayout
from .panels import (
    fragment_keys,
    nothing_kept,
    page_key,
    page_seconds,
    page_tokens,
    panels_media,
    read_page,
    registered_panels,
    render_panel,
    request_generation,
    resident_value,
    shown_panels,
    stores_collected,
)

LAYOUT_ACTIONS = {"up", "down", "hide", "show"}


def _stored_layout(user):
    layout = PanelLayout.objects.filter(user=user).values_list("order", "hidden").first()
    return layout or ([], [])


def _layout_for(request):
    """The resident's arrangement, kept in the cache with their panels (a save of the layout
    drops both)."""
    order, hidden = resident_value(request, "layout", lambda: _stored_layout(request.user))
    return PanelLayout(user=request.user, order=order, hidden=hidden)


@login_required
def index(request):
    """My page. On a return visit it is one cached page (panels.page_key()) whose CSRF token
    and live panels (departures with favourite stops, any panel not cached) are filled in
    for this visit; otherwise each panel comes from its cached fragment or is rendered, and
    the page is stored for the next visit."""
    registered = registered_panels()
    key = page_key(request, registered)
    if key is not None:
        entry = read_page(request, key)
        if entry is not None:
            html = _fill(request, entry, registered)
            if html is not None:
                return HttpResponse(html)
    # What is computed for the resident's cache (layout, panels shown, unread count), the
    # fresh fragments and the page are stored together, one call per cache time.
    with stores_collected(request) as fresh:
        layout = _layout_for(request)
        arranged = layout.arrange(shown_panels(request, registered))
        hidden = set(layout.hidden)
        shown = [p for p in arranged if p.slug not in hidden]
        # The resident's generation is read before any panel reads its data; then the cached
        # fragments of all panels in one call (none under a generation this visit made).
        token = request_generation(request) if settings.MYPAGE_CACHE_PANELS else None
        keys = fragment_keys(shown, request, token)
        cached = {}
        if keys and not nothing_kept(request):
            cached = cache.get_many(list(keys.values()))
        visible = [render_panel(p, request, keys.get(p.slug), cached, fresh) for p in shown]
        # The page is rendered with placeholders for what each visit fills in: the CSRF token
        # (each visitor's own) and the panels rendered live.
        entry = {"csrf": _placeholder(), "live": [], "tokens": token and page_tokens(request)}
        in_page = []
        for item in visible:
            if item.live and not item.failed:
                marker = _placeholder()
                entry["live"].append([item.slug, marker])
                item = dataclasses.replace(item, html=SafeString(marker))
            in_page.append(item)
        context = {
            "panels": in_page,
            "media": panels_media(visible),
            "hidden_panels": [p for p in arranged if p.slug in hidden],
            "first_slug": visible[0].slug if visible else None,
            "last_slug": visible[-1].slug if visible else None,
            "csrf_token": entry["csrf"],
        }
        entry["html"] = render_to_string("mypage/index.html", context, request=request)
        seconds = page_seconds(registered)
        # A nonce is this response's alone (portal/security.py): such a page is not stored.
        nonce = getattr(request, "_csp_nonce", None)
        storable = not nonce and not any(item.failed for item in visible)
        if key is not None and seconds and storable:
            fresh.setdefault(seconds, {})[key] = entry  # with the fragments of its time
    live = {item.slug: item.html for item in visible if item.live and not item.failed}
    return HttpResponse(_fill(request, entry, registered, live))


def _placeholder():
    # Unguessable, so no text of a panel can contain it by chance or on purpose.
    return f"mypage-{secrets.token_hex(16)}"


def _fill(request, entry, registered, live=None):
    """The page of `entry` for this visit: the live panels rendered now (or given in
    `live`), and this visitor's CSRF token. None when a live panel fails or is gone (the
    page is then rendered in full, with the panel shown as unavailable)."""
    html = entry["html"]
    if live is None:
        live = {}
        by_slug = {p.slug: p for p in registered}
        for slug, _marker in entry["live"]:
            panel = by_slug.get(slug)
            rendered = render_panel(panel, request) if panel is not None else None
            if rendered is None or rendered.failed:
                return None
            live[slug] = rendered.html
    for slug, marker in entry["live"]:
        html = html.replace(marker, str(live[slug]))
    return html.replace(entry["csrf"], reader_csrf_token(request))


@login_required
@require_POST
def change_layout(request):
    """Move, hide or show one panel. Works as a plain form post, so no JavaScript is needed."""
    action = request.POST.get("action")
    slug = request.POST.get("panel")
    panels = shown_panels(request)
    if action not in LAYOUT_ACTIONS or slug not in {p.slug for p in panels}:
        messages.error(request, _("That change to My page could not be made. Please try again."))
        return redirect("mypage:index")
    with transaction.atomic():
        # Lock (or create) the row, so two quick clicks apply one after the other instead of
        # both inserting a layout for the same user.
        layout, _created = PanelLayout.objects.select_for_update().get_or_create(user=request.user)
        _apply(request, layout, action, slug, [p.slug for p in layout.arrange(panels)])
        layout.save()
    url = reverse("mypage:index")
    return redirect(url if action == "hide" else f"{url}#panel-{slug}")


def _apply(request, layout, action, slug, arranged):
    if action in {"up", "down"}:
        visible = [s for s in arranged if s not in layout.hidden]
        if slug in visible:
            layout.move(slug, -1 if action == "up" else 1, visible)
            layout.order = layout.order + [s for s in arranged if s not in layout.order]
    else:
        layout.set_hidden(slug, action == "hide")
        if action == "hide":
            messages.success(
                request, _("The panel is hidden. You can show it again at the bottom of the page.")
            )
        else:
            messages.success(request, _("The panel is shown again."))
