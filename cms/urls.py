from django.urls import path

from . import feeds, views

app_name = "cms"

urlpatterns = [
    path("feeds/announcements.rss", feeds.AnnouncementsFeed(), name="feed_rss"),
    path("feeds/announcements.atom", feeds.AnnouncementsAtomFeed(), name="feed_atom"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots"),
    path("search/", views.search, name="search"),
]
