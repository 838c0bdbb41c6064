"""Public transit pages (stop search, nearby stops, the stop page), the favourites forms and
the JSON departures API. Every page works without JavaScript; the stop page's script only
reloads the departures fragment every 30 seconds."""

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.models import Community
from portal.security import local_path

from . import openapi, services
from .departures import board

MAX_QUERY_LENGTH = 100


def _parse_at(value):
    """The `at` parameter (local date and time, YYYY-MM-DDTHH:MM) as an aware datetime."""
    if not value:
        return None
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("Enter a date and time like 2026-03-02T08:00.")) from None
    if naive.year < 2000 or naive.year > 2100:
        raise ValidationError(_("Enter a date and time like 2026-03-02T08:00."))
    if naive.tzinfo is None:
        naive = timezone.make_aware(naive)
    return naive


def _coordinate(value, low, high):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high and number == number else None


@require_GET
def index(request):
    """Find a stop: by name, near a point (the phone's position), near a community, or near
    the resident's home."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH].replace("\x00", "")
    results = services.search_stops(query) if query else []
    lat = _coordinate(request.GET.get("lat"), -90, 90)
    lon = _coordinate(request.GET.get("lon"), -180, 180)
    communities = list(Community.objects.all())
    community = next((c for c in communities if c.code == request.GET.get("community")), None)
    near_label = ""
    if lat is not None and lon is not None:
        near_label = _("your position")
    elif community is not None:
        lat, lon, near_label = float(community.latitude), float(community.longitude), community.name
    elif not query:
        home = services.home_point(request.user)
        if home is not None:
            lat, lon, near_label = (
                home[0],
                home[1],
                _("your home community, %(name)s") % {"name": home[2].name},
            )
    nearby = services.nearby_stops(lat, lon) if lat is not None and lon is not None else None
    listed = [*results, *((n.feed, n.stop) for n in nearby or [])]
    names = services.translated_names(listed, get_language())
    for _feed, stop in listed:
        stop.display_name = names[stop.pk]
    return render(
        request,
        "transit/index.html",
        {
            "query": query,
            "results": results,
            "nearby": nearby,
            "near_label": near_label,
            "communities": communities,
            "community": community,
            "searched": bool(query),
        },
    )


def _board_or_404(request, feed_code, stop_id):
    feed, stop = services.live_stop(feed_code, stop_id)
    if stop is None:
        raise Http404(_("That stop could not be found."))
    return feed, stop


@require_GET
def stop_page(request, feed_code, stop_id):
    """A stop's next departures, the routes serving it and its alerts. `?at=` shows another
    time; `?partial=1` returns only the departures fragment (the page's script asks for it)."""
    feed, stop = _board_or_404(request, feed_code, stop_id)
    error = ""
    try:
        at = _parse_at(request.GET.get("at", "").strip()[:40])
    except ValidationError as exc:
        at, error = None, exc.messages[0]
    now = timezone.now()
    result = board(feed, stop, at=at, now=now, limit=12, language=get_language())
    context = {
        "feed": feed,
        "stop": stop,
        "board": result,
        "now": now,
        "asked_at": at,
        "at_error": error,
        "at_value": timezone.localtime(at).strftime("%Y-%m-%dT%H:%M") if at else "",
        "is_favourite": services.is_favourite(request.user, feed, stop.stop_id),
        "refresh_seconds": settings.TRANSIT_REALTIME_POLL_SECONDS,
    }
    template = "transit/includes/board.html" if request.GET.get("partial") else "transit/stop.html"
    response = render(request, template, context, status=400 if error else 200)
    response["Cache-Control"] = "no-cache"
    return response


def _next_url(request, fallback):
    return local_path(request, request.POST.get("next", "")) or fallback


@login_required
@require_POST
def favourite_add(request):
    feed_code = request.POST.get("feed", "")[:40]
    stop_id = request.POST.get("stop", "")[:200]
    try:
        feed, stop = services.add_favourite(request.user, feed_code, stop_id)
    except services.FavouriteError as exc:
        messages.error(request, str(exc))
    else:
        name = services.translated_names([(feed, stop)], get_language())[stop.pk]
        messages.success(request, _("%(stop)s is one of your favourite stops.") % {"stop": name})
    return redirect(_next_url(request, reverse("transit:favourites")))


@login_required
@require_POST
def favourite_remove(request):
    removed = services.remove_favourite(
        request.user, request.POST.get("feed", "")[:40], request.POST.get("stop", "")[:200]
    )
    if removed:
        messages.success(request, _("The stop is no longer one of your favourites."))
    return redirect(_next_url(request, reverse("transit:favourites")))


@login_required
@require_GET
def favourites(request):
    from .panels import favourite_boards

    return render(
        request,
        "transit/favourites.html",
        {
            "favourites": favourite_boards(request.user, departures=3),
            "limit": settings.TRANSIT_FAVOURITE_STOPS_LIMIT,
        },
    )


# JSON API ---------------------------------------------------------------------------------------
def _json_error(status, message):
    return JsonResponse({"error": {"status": status, "message": message}}, status=status)


def _iso(value):
    return value.isoformat() if value else None


def departures_payload(feed, stop, result, ages=True):
    """The JSON form of a board, as documented in openapi.py. Without `ages` it leaves out
    the fields that change every second (for the ETag)."""
    fresh = result.trip_updates

    def departure(d):
        return {
            "route": {
                "id": d.route.route_id,
                "short_name": d.route.short_name,
                "name": d.route_name,
                "long_name": d.route_long_name,
                "color": d.route.color or None,
                "text_color": d.route.text_color or None,
                "type": d.route.route_type,
            },
            "headsign": d.headsign,
            "trip_id": d.trip_id,
            "service_date": d.service_day.isoformat() if d.service_day else None,
            "stop_sequence": d.stop_sequence,
            "stop_id": d.stop.stop_id,
            "platform": d.platform or None,
            "scheduled": _iso(d.scheduled.astimezone(d.tz)),
            "expected": _iso(d.expected.astimezone(d.tz) if d.expected else None),
            "delay_seconds": d.delay,
            "status": d.status,
            "realtime_age_seconds": d.age if ages else None,
            "approximate": d.approximate,
            "headway_minutes": d.headway_minutes,
            "wheelchair_accessible": d.wheelchair_accessible,
        }

    return {
        "stop": {
            "feed": feed.code,
            "stop_id": stop.stop_id,
            "code": stop.code or None,
            "name": result.name,
            "lat": stop.lat,
            "lon": stop.lon,
            "wheelchair_boarding": {1: True, 2: False}.get(stop.wheelchair_boarding),
        },
        "realtime": {
            "configured": result.realtime_configured,
            "live": bool(fresh and fresh.live),
            "updated_at": _iso(fresh.snapshot_time if fresh else None),
            "age_seconds": fresh.age if fresh and ages else None,
            "stale_after_seconds": settings.TRANSIT_TRIP_UPDATES_STALE_SECONDS,
        },
        "departures": [departure(d) for d in result.departures],
        "routes": [
            {"id": r.route_id, "short_name": short, "long_name": long, "color": r.color or None}
            for r, short, long in result.routes
        ],
        "alerts": None
        if result.alerts is None
        else [
            {
                "id": a.alert_id,
                "header": a.header,
                "description": a.description,
                "url": a.url or None,
                "effect": a.effect or None,
                "severity": a.severity or None,
            }
            for a in result.alerts
        ],
    }


@require_GET
def api_departures(request):
    """GET /transit/api/v1/departures?feed=…&stop=…[&at=…][&limit=…]"""
    feed_code = request.GET.get("feed", "")[:40]
    stop_id = request.GET.get("stop", "")[:200]
    if not feed_code or not stop_id:
        return _json_error(400, _("The parameters feed and stop are required."))
    try:
        limit = int(request.GET.get("limit", "10"))
    except ValueError:
        return _json_error(400, _("limit must be a whole number from 1 to 50."))
    if not 1 <= limit <= 50:
        return _json_error(400, _("limit must be a whole number from 1 to 50."))
    try:
        at = _parse_at(request.GET.get("at", "")[:40])
    except ValidationError as exc:
        return _json_error(400, exc.messages[0])
    feed, stop = services.live_stop(feed_code, stop_id)
    if stop is None:
        return _json_error(404, _("That stop could not be found."))
    now = timezone.now()
    result = board(feed, stop, at=at, now=now, limit=limit, language=get_language())
    # The ETag covers the content, not the moment (ages grow every second): while neither
    # the timetable nor the snapshot changed, a client's copy is answered with a 304.
    stable = departures_payload(feed, stop, result, ages=False)
    body = json.dumps(stable, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    payload_with_time = {
        "generated_at": now.isoformat(),
        **departures_payload(feed, stop, result),
    }
    max_age = min(15, settings.TRANSIT_REALTIME_POLL_SECONDS)
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = JsonResponse(payload_with_time, json_dumps_params={"ensure_ascii": False})
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Vary"] = "Accept-Language, Cookie"
    return response


@require_GET
def api_openapi(request):
    response = JsonResponse(openapi.document(request.build_absolute_uri("/")))
    response["Cache-Control"] = "public, max-age=3600"
    return response
