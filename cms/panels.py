"""My page's announcements panel: what is announced for the resident's street and community."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.mypage.panels import Panel, request_site_epoch

from . import residents


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
        # The resident's profile and what they read; the area's list and the index shared by
        # its residents under the site's epoch (a publish or an unpublish replaces it).
        if not settings.MYPAGE_CACHE_PANELS:
            return residents.panel_context(request.user)
        token = request_site_epoch(request)
        return residents.panel_context(request.user, token, self.cache_seconds)
