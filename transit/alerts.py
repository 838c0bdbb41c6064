"""Service alerts: which of the stored alerts are active now and concern a stop, its routes,
their agencies or trips, in the reader's language."""

from dataclasses import dataclass

from django.utils import timezone

from . import realtime
from .models import RealtimeAlert
from .timetable import language_candidates


@dataclass
class AlertView:
    alert_id: str
    header: str
    description: str
    url: str
    effect: str
    severity: str

    @property
    def is_severe(self):
        return self.severity == "SEVERE"


def pick_text(texts, language=None):
    """The text in the reader's language from {language: text}; else an untagged one; else
    any."""
    if not texts:
        return ""
    for candidate in language_candidates(language):
        if candidate in texts:
            return texts[candidate]
    return texts.get("") or next(iter(texts.values()))


def is_active(alert, now):
    if not alert.active_periods:
        return True
    stamp = now.timestamp()
    return any(
        (start is None or start <= stamp) and (end is None or stamp < end)
        for start, end in alert.active_periods
    )


def affects(alert, *, agency_ids=(), route_ids=(), stop_ids=(), trip_ids=(), route_types=()):
    """Whether any of the alert's informed entities selects what is given (each entity's
    fields all have to match, as the GTFS-realtime reference defines)."""
    for entity in alert.informed_entities:
        checks = (
            (entity.get("agency_id"), agency_ids),
            (entity.get("route_id"), route_ids),
            (entity.get("stop_id"), stop_ids),
            (entity.get("trip_id"), trip_ids),
            (entity.get("route_type"), route_types),
        )
        given = [(value, pool) for value, pool in checks if value not in ("", None)]
        if given and all(value in pool for value, pool in given):
            return True
    return False


def view(alert, language=None):
    return AlertView(
        alert_id=alert.alert_id,
        header=pick_text(alert.header, language),
        description=pick_text(alert.description, language),
        url=pick_text(alert.url, language),
        effect=alert.effect,
        severity=alert.severity,
    )


# {feed pk: (snapshot id, [RealtimeAlert])}: the stored alerts this process has read, kept until
# a new snapshot (a new id) is stored.
_ALERTS_MEMO = {}


def current_alerts(feed, now=None, fresh=None):
    """The feed's alerts active now, or None when the alert feed is stale or never came.
    `fresh`: the alert feed's Freshness when the caller has it already."""
    now = now or timezone.now()
    fresh = fresh or realtime.freshness(feed, realtime.ALERTS, now)
    if not fresh.live:
        return None
    held = _ALERTS_MEMO.get(feed.pk)
    if held is not None and fresh.snapshot_id and held[0] == fresh.snapshot_id:
        stored = held[1]
    else:
        stored = list(RealtimeAlert.objects.filter(feed=feed))
        if fresh.snapshot_id:
            _ALERTS_MEMO[feed.pk] = (fresh.snapshot_id, stored)
    return [a for a in stored if is_active(a, now)]


def alerts_for_boards(feed, boards, members, stop_rows, now, language, configured, fresh=None):
    """Attach to each board the alerts for the stop (and its platforms and station), the
    routes serving it, their agencies and the trips on the board."""
    if not configured:
        for board in boards.values():
            board.alerts = []
        return
    active = current_alerts(feed, now, fresh)
    for pk, board in boards.items():
        if active is None:
            board.alerts = None
            continue
        stop_ids = {stop_rows[m].stop_id for m in members[pk] if m in stop_rows}
        stop_ids.add(board.stop.stop_id)
        if board.stop.parent_id and board.stop.parent_id in stop_rows:
            stop_ids.add(stop_rows[board.stop.parent_id].stop_id)
        routes = [r for r, _short, _long in board.routes] + [d.route for d in board.departures]
        selection = {
            "stop_ids": stop_ids,
            "route_ids": {r.route_id for r in routes},
            "agency_ids": {r.agency.agency_id for r in routes},
            "route_types": {r.route_type for r in routes},
            "trip_ids": {d.trip_id for d in board.departures},
        }
        board.alerts = [view(a, language) for a in active if affects(a, **selection)]
