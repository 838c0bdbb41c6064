"""How transit plugs into the portal: the My page panel and the demo data."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail import hooks

from portal.mypage.panels import Panel

from .models import FavouriteStop
from .panels import favourite_boards


class FavouriteStopsPanel(Panel):
    """Departures are live: with favourite stops the panel is rendered on every visit (never
    stored). Only its empty state, a resident without favourites, is kept per resident,
    dropped when they add or remove one."""

    slug = "transit"
    title = _("Favourite stops")
    order = 60
    template_name = "transit/panels/favourite_stops.html"
    cache_seconds = 300
    invalidated_by = {FavouriteStop: "user_id"}

    class Media:
        css = {"all": ["transit/transit.css"]}

    def get_context_data(self, request):
        return {"favourites": favourite_boards(request.user), "now": timezone.now()}

    def may_cache(self, context):
        return not context["favourites"]


@hooks.register("register_mypage_panel")
def register_favourite_stops_panel():
    return FavouriteStopsPanel()


@hooks.register("load_demo_data")
def load_transit_demo(stdout):
    from .demo import load_demo

    load_demo(stdout)
