"""My page's announcements panel: what is announced for the resident's street and community."""

from django.utils.translation import gettext_lazy as _

from portal.mypage.panels import Panel

from . import residents
from .models import announcement_index


class AnnouncementsPanel(Panel):
    slug = "announcements"
    title = _("Announcements for your area")
    order = 45
    template_name = "cms/panels/announcements.html"
    # Cached per resident; opening an announcement drops it at once, a newly published one
    # shows within this time.
    cache_seconds = 60

    class Media:
        css = {"all": ["cms/cms.css"]}

    def get_context_data(self, request):
        # Three queries whatever the number of announcements: locales, the list, what was read.
        context = residents.panel_context(request.user)
        context["announcement_index"] = announcement_index()
        return context
