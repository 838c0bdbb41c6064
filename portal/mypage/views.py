from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .models import PanelLayout
from .panels import (
    fragment_keys,
    panels_media,
    registered_panels,
    render_panel,
    request_generation,
    resident_value,
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


def _panels_for(request):
    return [p for p in registered_panels() if p.is_shown(request)]


@login_required
def index(request):
    layout = _layout_for(request)
    arranged = layout.arrange(_panels_for(request))
    hidden = set(layout.hidden)
    shown = [p for p in arranged if p.slug not in hidden]
    # The resident's generation is read before any panel reads its data; then the cached
    # fragments of all panels in one call.
    token = request_generation(request) if settings.MYPAGE_CACHE_PANELS else None
    keys = fragment_keys(shown, request, token)
    cached = cache.get_many(list(keys.values())) if keys else {}
    visible = [render_panel(p, request, keys.get(p.slug), cached) for p in shown]
    context = {
        "panels": visible,
        "media": panels_media(visible),
        "hidden_panels": [p for p in arranged if p.slug in hidden],
        "first_slug": visible[0].slug if visible else None,
        "last_slug": visible[-1].slug if visible else None,
    }
    return render(request, "mypage/index.html", context)


@login_required
@require_POST
def change_layout(request):
    """Move, hide or show one panel. Works as a plain form post, so no JavaScript is needed."""
    action = request.POST.get("action")
    slug = request.POST.get("panel")
    panels = _panels_for(request)
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
