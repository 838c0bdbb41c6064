"""RSS and Atom feeds of announcements, per language (`?lang=`) and per community
(`?community=<code>`): what the listings show, newest first, without expired ones."""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from portal.accounts.models import Community

from . import models

FEED_SIZE = 30


class AnnouncementsFeed(Feed):
    def get_object(self, request):
        code = request.GET.get("community", "")
        community = None
        if code:
            community = Community.objects.filter(code=code[:40]).first()
            if community is None:
                raise Http404
        self.request = request
        return community

    def title(self, community):
        if community is not None:
            return _("Announcements for %(community)s · District Portal") % {
                "community": community.name
            }
        return _("Announcements · District Portal")

    def description(self, community):
        return _("News and notices from the district office.")

    def link(self, community):
        index = models.announcement_index()
        return index.url if index is not None else "/"

    def items(self, community):
        announcements = models.one_per_translation(models.live_announcements())
        if community is not None:
            announcements = models.for_community(announcements, community)
        return list(models.listed(models.newest_first(announcements))[:FEED_SIZE])

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary

    def item_link(self, item):
        url = item.get_url(self.request) or "/"
        return f"{url}?lang={item.locale.language_code}"

    def item_pubdate(self, item):
        return item.date

    def item_updateddate(self, item):
        return item.last_published_at or item.date

    def item_categories(self, item):
        return [item.category.name] if item.category else []


class AnnouncementsAtomFeed(AnnouncementsFeed):
    feed_type = Atom1Feed

    def subtitle(self, community):
        return self.description(community)
