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

A panel declares the CSS and JavaScript it needs the way Wagtail's components do, with an
inner `Media` class (a `django.forms.Media`); My page includes the union of its visible
panels' media once, in the page's head (CSS) and at the end of its body (JS):

    class NextAppointmentsPanel(Panel):
        class Media:
            css = {"all": ["booking/panel.css"]}
            js = ["booking/panel.js"]
"""

import logging
from dataclasses import dataclass

from django.forms.widgets import Media, MediaDefiningClass
from django.template.loader import render_to_string
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


def render_panel(panel, request):
    """Render one panel; a failure is logged and becomes an 'unavailable' placeholder."""
    try:
        # Its media too: a file missing from the static manifest must fail this panel alone,
        # not the page's head.
        panel.media.render()
        return RenderedPanel(panel, panel.render(request))
    except Exception:
        logger.exception("My page panel %r failed for user %s", panel.slug, request.user.pk)
        return RenderedPanel(panel, "", failed=True)


def panels_media(rendered):
    """The union of the media of the panels shown (each file once, in declared order)."""
    return sum((item.panel.media for item in rendered if not item.failed), Media())
