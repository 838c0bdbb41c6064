"""New service alerts for residents' favourite stops become notifications, once per alert
and resident (the notification kind "transit.alert", which a resident may turn off)."""

import logging

from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy

from portal.notifications.services import notify

from . import alerts as alert_rules
from . import realtime
from .departures import routes_at, stop_members
from .models import AlertNotice, FavouriteStop, Route, Stop
from .timetable import Translator

logger = logging.getLogger(__name__)


def _in_language(texts):
    """A text of the alert that is chosen when rendered, so each language gets its own."""
    return lazy(lambda: alert_rules.pick_text(texts), str)()


def _stop_name(version, stop):
    def name():
        tr = Translator(version)
        tr.want(stop.stop_id, stop.name)
        return tr.get("stops", "stop_name", stop.stop_id, stop.name)

    return lazy(name, str)()


@receiver(realtime.alerts_stored, dispatch_uid="transit.notices.notify_new_alerts")
def _alerts_stored(sender, feed, now, **kwargs):
    return notify_new_alerts(feed, now)


def notify_new_alerts(feed, now=None):
    """Tell residents about active alerts that affect one of their favourite stops (the
    stop, its station or platforms, a route serving it, its agency) and that they were not
    told about yet. Returns the number of notifications written."""
    now = now or timezone.now()
    version = feed.live_version
    active = alert_rules.current_alerts(feed, now)
    if not active or version is None:
        return 0
    favourites = FavouriteStop.objects.filter(feed=feed).values_list("user_id", "stop_id")
    users_by_stop = {}
    for user_id, stop_id in favourites:
        users_by_stop.setdefault(stop_id, set()).add(user_id)
    if not users_by_stop:
        return 0
    told = set(
        AlertNotice.objects.filter(
            feed=feed, alert_id__in=[a.alert_id for a in active]
        ).values_list("user_id", "alert_id")
    )
    stops = list(Stop.objects.filter(version=version, stop_id__in=list(users_by_stop)))
    members = stop_members(stops)
    member_ids = dict(
        Stop.objects.filter(pk__in={m for ms in members.values() for m in ms}).values_list(
            "pk", "stop_id"
        )
    )
    parents = dict(
        Stop.objects.filter(pk__in={s.parent_id for s in stops if s.parent_id}).values_list(
            "pk", "stop_id"
        )
    )
    selections = {}
    for stop in stops:
        route_pks = routes_at(version, members[stop.pk])
        routes = list(Route.objects.filter(pk__in=route_pks).select_related("agency"))
        stop_ids = {member_ids[m] for m in members[stop.pk]} | {stop.stop_id}
        if stop.parent_id in parents:
            stop_ids.add(parents[stop.parent_id])
        selections[stop] = {
            "stop_ids": stop_ids,
            "route_ids": {r.route_id for r in routes},
            "agency_ids": {r.agency.agency_id for r in routes},
            "route_types": {r.route_type for r in routes},
        }
    sent = 0
    for alert in active:
        for stop, selection in selections.items():
            if not alert_rules.affects(alert, **selection):
                continue
            for user_id in users_by_stop[stop.stop_id]:
                if (user_id, alert.alert_id) in told:
                    continue
                told.add((user_id, alert.alert_id))
                sent += _notify_one(feed, version, alert, stop, user_id)
    return sent


def _notify_one(feed, version, alert, stop, user_id):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    try:
        with transaction.atomic():
            AlertNotice.objects.create(user=user, feed=feed, alert_id=alert.alert_id)
            notify(
                "transit.alert",
                user,
                {
                    "header": _in_language(alert.header),
                    "description": _in_language(alert.description),
                    "stops": _stop_name(version, stop),
                },
                url=reverse("transit:stop", args=[feed.code, stop.stop_id]),
            )
    except IntegrityError:
        return 0  # told by a poll running at the same time
    return 1
