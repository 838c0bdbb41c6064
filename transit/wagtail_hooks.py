"""How transit plugs into the portal: the My page panel and the demo data."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wagtail import hooks

from portal.mypage.panels import Panel

from .panels import favourite_boards


class FavouriteStopsPanel(Panel):
    slug = "transit"
    title = _("Favourite stops")
    order = 60
    template_name = "transit/panels/favourite_stops.html"

    class Media:
        css = {"all": ["transit/transit.css"]}

    def get_context_data(self, request):
        return {"favourites": favourite_boards(request.user), "now": timezone.now()}


@hooks.register("register_mypage_panel")
def register_favourite_stops_panel():
    return FavouriteStopsPanel()


@hooks.register("load_demo_data")
def load_transit_demo(stdout):
    from .demo import load_demo

    load_demo(stdout)
