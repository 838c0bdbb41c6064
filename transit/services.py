"""Transit rules the views, the API, the My page panel and the tasks share: finding stops
(by name in any script or language, or near a point), and residents' favourite stops."""

import math
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import FavouriteStop, Feed, Stop

SEARCH_LIMIT = 20
EARTH_RADIUS_M = 6_371_000
# Riders look for stops, not for entrances or the platforms of a station (its page has them).
SHOWN_LOCATION_TYPES = (Stop.LocationType.STOP, Stop.LocationType.STATION)


class FavouriteError(Exception):
    """A favourite could not be added or removed; the message is for the resident."""


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


def search_key(text):
    """Text as stop search compares it: lowercase, Chinese in one script (Simplified), so
    '碼頭' and '码头' find the same stop."""
    return _to_simplified().convert((text or "").lower())


def live_feeds():
    return list(Feed.objects.exclude(live_version=None).select_related("live_version"))


def live_stop(feed_code, stop_id):
    """(feed, stop) for a feed code and GTFS stop_id in its live version, or (None, None)."""
    if "\x00" in feed_code or "\x00" in stop_id:
        return None, None  # PostgreSQL text cannot hold NUL: no such stop, not an error
    feed = (
        Feed.objects.select_related("live_version")
        .filter(code=feed_code)
        .exclude(live_version=None)
        .first()
    )
    if feed is None:
        return None, None
    stop = Stop.objects.filter(version_id=feed.live_version_id, stop_id=stop_id).first()
    return (feed, stop) if stop else (None, None)


def _shown_stops(feeds):
    return Stop.objects.filter(
        version_id__in=[f.live_version_id for f in feeds],
        location_type__in=SHOWN_LOCATION_TYPES,
        parent__isnull=True,
    )


def search_stops(query, limit=SEARCH_LIMIT):
    """Stops whose name (in any language the feed gives) or code contains the query.

    A substring match, so a two-character Chinese name is found (full-text parsers treat a
    Chinese phrase as one word). Exact and prefix matches come first.
    """
    key = search_key(query.strip())
    if not key:
        return []
    feeds = live_feeds()
    by_version = {f.live_version_id: f for f in feeds}
    candidates = list(_shown_stops(feeds).filter(search_text__contains=key)[: limit * 5]) + list(
        _shown_stops(feeds).filter(code__iexact=query.strip())[:limit]
    )
    seen, ranked = set(), []
    for stop in candidates:
        if stop.pk in seen:
            continue
        seen.add(stop.pk)
        names = stop.search_text.split(" ")
        rank = 0 if key in names else 1 if any(n.startswith(key) for n in names) else 2
        ranked.append((rank, len(stop.name), stop.name, stop))
    ranked.sort(key=lambda r: r[:3])
    return [(by_version[s.version_id], s) for *_r, s in ranked[:limit]]


def translated_names(pairs, language=None):
    """{stop pk: name in the reader's language} for [(feed, stop)], one query per feed."""
    from .timetable import Translator

    translators = {}
    for feed, stop in pairs:
        tr = translators.setdefault(feed.pk, Translator(feed.live_version, language))
        tr.want(stop.stop_id, stop.name)
    return {
        stop.pk: translators[feed.pk].get("stops", "stop_name", stop.stop_id, stop.name)
        for feed, stop in pairs
    }


def distance_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass
class NearbyStop:
    feed: Feed
    stop: Stop
    distance: int  # metres


def nearby_stops(lat, lon, radius_m=800, limit=10):
    """Stops within `radius_m` of a point, nearest first (a box on the indexed latitude,
    then the exact distance)."""
    lat, lon = float(lat), float(lon)
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    feeds = live_feeds()
    by_version = {f.live_version_id: f for f in feeds}
    found = []
    for stop in _shown_stops(feeds).filter(
        lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon)
    ):
        meters = distance_m(lat, lon, stop.lat, stop.lon)
        if meters <= radius_m:
            found.append(NearbyStop(by_version[stop.version_id], stop, round(meters)))
    found.sort(key=lambda n: (n.distance, n.stop.name))
    return found[:limit]


def home_point(user):
    """(lat, lon, community) of a resident's home community, or None."""
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    community = profile.community if profile else None
    if community is None:
        return None
    return float(community.latitude), float(community.longitude), community


# Favourites -------------------------------------------------------------------------------------
def favourites_of(user):
    return list(FavouriteStop.objects.filter(user=user).select_related("feed__live_version"))


def is_favourite(user, feed, stop_id):
    return (
        user.is_authenticated
        and FavouriteStop.objects.filter(user=user, feed=feed, stop_id=stop_id).exists()
    )


def add_favourite(user, feed_code, stop_id):
    """Add a stop of a live feed to the resident's favourites, up to
    TRANSIT_FAVOURITE_STOPS_LIMIT. Adding one twice is fine."""
    feed, stop = live_stop(feed_code, stop_id)
    if stop is None:
        raise FavouriteError(_("That stop could not be found."))
    limit = settings.TRANSIT_FAVOURITE_STOPS_LIMIT
    with transaction.atomic():
        # Lock the resident's favourites so two quick clicks cannot pass the limit together.
        existing = list(
            FavouriteStop.objects.select_for_update()
            .filter(user=user)
            .values_list("feed_id", "stop_id")
        )
        if (feed.pk, stop.stop_id) in existing:
            return feed, stop
        if len(existing) >= limit:
            raise FavouriteError(
                _("You can keep up to %(limit)s favourite stops. Remove one to add another.")
                % {"limit": limit}
            )
        try:
            with transaction.atomic():
                FavouriteStop.objects.create(user=user, feed=feed, stop_id=stop.stop_id)
        except IntegrityError:
            pass  # added by a parallel request
    return feed, stop


def remove_favourite(user, feed_code, stop_id):
    if "\x00" in feed_code or "\x00" in stop_id:
        return 0
    removed, _detail = FavouriteStop.objects.filter(
        user=user, feed__code=feed_code, stop_id=stop_id
    ).delete()
    return removed
