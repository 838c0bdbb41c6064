"""Announcements and residents: My page's panel and the notice of an urgent announcement.

A resident's area is the street in their profile and its community. An urgent announcement
for that area becomes one notification (kind `cms.urgent_announcement`, which the resident may
turn off), once per resident whatever the number of translations or republications.
"""

import datetime
import logging

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from portal.accounts.models import Profile
from portal.notifications.services import notify

from .models import (
    AnnouncementPage,
    AnnouncementRead,
    UrgentBroadcast,
    UrgentNotice,
    announcement_index,
    for_street,
    listed,
    live_announcements,
    one_per_translation,
)

logger = logging.getLogger(__name__)

PANEL_SIZE = 5
PROFILE = Profile._meta.get_field("user").remote_field  # user.profile, as the user caches it
KIND = "cms.urgent_announcement"


def resident_street(user):
    """The street of the resident's profile (the profile read with it, once per request)."""
    if not PROFILE.is_cached(user):
        # The profile and its street in one query; kept on the user as user.profile.
        user.profile = Profile.objects.select_related("street").filter(user=user).first()
    profile = getattr(user, "profile", None)
    return getattr(profile, "street", None) if profile is not None else None


def for_resident(user, language=None):
    """The announcements for the resident's area: urgent ones first, then newest first."""
    return for_area(resident_street(user), language)


def for_area(street, language=None):
    announcements = for_street(one_per_translation(live_announcements(), language), street)
    return listed(announcements).order_by("-urgent", "-first_published_at", "-pk")


def area_panel(street, token, seconds):
    """(the first PANEL_SIZE announcements for the street's area in the active language, the
    announcements index): the same for every resident of the street, so read once and kept
    for `seconds` under `token`, which every publish and unpublish replaces (My page's site
    epoch, cms/signals.py). Nothing of a resident's own is in it."""
    area = f"{street.pk}.{street.community_id}" if street is not None else "-"
    key = f"cms:area-panel:{translation.get_language()}:{area}:{token}"
    entry = cache.get(key)
    if entry is None:
        announcements, index = list(for_area(street)[:PANEL_SIZE]), announcement_index()
        for page in [*announcements, index] if index is not None else announcements:
            # Without a request: relative on a one-site install, absolute with several (it
            # links from any site); the panel needs no site lookup then.
            page.listed_url = page.get_url()
        entry = (announcements, index)
        cache.set(key, entry, seconds)
    return entry


def panel_context(user, token=None, seconds=0):
    """My page's announcements panel; the area's list shared between its residents when a
    `token` is given (area_panel), read for this resident otherwise."""
    street = resident_street(user)
    if token is None:
        announcements, index = list(for_area(street)[:PANEL_SIZE]), announcement_index()
    else:
        announcements, index = area_panel(street, token, seconds)
    read = set(
        AnnouncementRead.objects.filter(
            user=user, translation_key__in=[a.translation_key for a in announcements]
        ).values_list("translation_key", flat=True)
    )
    return {
        "announcements": announcements,
        "unread_ids": {a.pk for a in announcements if a.translation_key not in read},
        "has_street": street is not None,
        "announcement_index": index,
    }


class AnnouncementTexts:
    """An announcement's title and summary in the language a notification is being written in
    (notify() renders its templates once per language)."""

    def __init__(self, pages):
        self.pages = {p.locale.language_code: p for p in pages}

    def _page(self):
        return self.pages.get(translation.get_language()) or next(iter(self.pages.values()))

    @property
    def title(self):
        return self._page().title

    @property
    def summary(self):
        return self._page().summary


def area_residents(page):
    """Active users whose street is in the announcement's area."""
    users = get_user_model().objects.filter(is_active=True, profile__street__isnull=False)
    if page.target == AnnouncementPage.Target.COMMUNITIES:
        users = users.filter(profile__street__community__in=page.communities.all())
    elif page.target == AnnouncementPage.Target.STREETS:
        users = users.filter(profile__street__in=page.streets.all())
    return users


def record_urgent(page):
    """Called when an announcement is published: urgent ones get a broadcast row."""
    if page.urgent:
        broadcast, _ = UrgentBroadcast.objects.get_or_create(translation_key=page.translation_key)
        return broadcast
    return None


def send_urgent(translation_key):
    """Notify every resident of the area who has not been told yet. Safe to run again."""
    pages = list(
        live_announcements()
        .filter(translation_key=translation_key, urgent=True)
        .select_related("locale")
    )
    if not pages:
        UrgentBroadcast.objects.filter(translation_key=translation_key).update(
            sent_at=timezone.now()
        )
        return 0
    texts = AnnouncementTexts(pages)
    original = pages[0]
    told = set(
        UrgentNotice.objects.filter(translation_key=translation_key).values_list(
            "user_id", flat=True
        )
    )
    sent = 0
    for user in area_residents(original).exclude(pk__in=told).iterator():
        try:
            with transaction.atomic():
                UrgentNotice.objects.create(user=user, translation_key=translation_key)
                notify(KIND, user, {"announcement": texts}, url=original.url or "")
        except IntegrityError:
            continue  # told meanwhile by another run
        sent += 1
    UrgentBroadcast.objects.filter(translation_key=translation_key).update(sent_at=timezone.now())
    return sent


def send_pending_broadcasts(older_than_seconds=60):
    """The minute task's catch-up: broadcasts whose task was not queued or did not finish."""
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    for key in UrgentBroadcast.objects.filter(
        sent_at__isnull=True, created_at__lte=cutoff
    ).values_list("translation_key", flat=True):
        send_urgent(key)
