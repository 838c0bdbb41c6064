"""Favourite stops with their next departures, for My page and the favourites page."""

from dataclasses import dataclass

from django.utils.translation import get_language

from .departures import Board, boards
from .models import Stop
from .services import favourites_of


@dataclass
class FavouriteBoard:
    feed_code: str
    stop_id: str
    stop: Stop | None  # None: the stop is gone from the feed's live version
    board: Board | None


def favourite_boards(user, departures=3, now=None):
    """The resident's favourite stops in the order they were added, each with its next
    departures and alerts. Queries grow with the number of feeds, not of favourites."""
    favourites = favourites_of(user)
    by_feed = {}
    for favourite in favourites:
        by_feed.setdefault(favourite.feed_id, (favourite.feed, []))[1].append(favourite.stop_id)
    found = {}
    for feed, stop_ids in by_feed.values():
        if feed.live_version_id is None:
            continue
        stops = list(Stop.objects.filter(version_id=feed.live_version_id, stop_id__in=stop_ids))
        result = boards(feed, stops, now=now, limit=departures, language=get_language())
        for stop in stops:
            found[(feed.pk, stop.stop_id)] = (stop, result[stop.pk])
    out = []
    for favourite in favourites:
        stop, board = found.get((favourite.feed_id, favourite.stop_id), (None, None))
        out.append(FavouriteBoard(favourite.feed.code, favourite.stop_id, stop, board))
    return out
