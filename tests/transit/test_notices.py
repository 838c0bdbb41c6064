"""A new alert for a favourite stop or one of its routes is a notification, once per alert,
and residents who turned the kind off get none."""

import pytest

from portal.notifications.models import KindPreference, Message
from transit import realtime
from transit.gtfs_writer import add_alert, realtime_message
from transit.models import FavouriteStop

from .test_mypage import live_feed  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def publish_alerts(feed, tmp_path, *alerts, stamp):
    message = realtime_message(stamp)
    for alert_id, entities in alerts:
        add_alert(
            message,
            alert_id,
            header={"en": f"Alert {alert_id}", "zh-Hant": "服務通告"},
            description={"en": "Buses are diverted."},
            entities=entities,
        )
    (tmp_path / "alerts.pb").write_bytes(message.SerializeToString())
    return realtime.poll_feed(feed, "alerts", feed.alerts_url)


def test_new_alert_for_a_favourite_route_is_told_once(live_feed, resident, tmp_path):  # noqa: F811
    from django.utils import timezone

    resident.profile.preferred_language = "en"
    resident.profile.save()
    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="B")
    now = timezone.now().timestamp()
    # The fixture's alert ("lift", route 8 serves B) was stored before the favourite existed.
    result = publish_alerts(
        live_feed,
        tmp_path,
        ("lift", [{"route_id": "8"}]),
        ("elsewhere", [{"stop_id": "C"}]),
        stamp=now - 5,
    )
    assert "1 residents told" in result
    message = Message.objects.get(user=resident, kind="transit.alert")
    assert "Alert lift" in message.subject
    assert "Market" in message.body and "/transit/stops/district/B" in message.body
    # The next poll finds the same alert: no second message.
    publish_alerts(live_feed, tmp_path, ("lift", [{"route_id": "8"}]), stamp=now - 2)
    assert Message.objects.filter(user=resident, kind="transit.alert").count() == 1


def test_residents_who_turned_it_off_get_nothing(live_feed, resident, tmp_path):  # noqa: F811
    from django.utils import timezone

    FavouriteStop.objects.create(user=resident, feed=live_feed, stop_id="A")
    KindPreference.objects.create(
        user=resident, kind="transit.alert", inbox=False, email=False, sms=False
    )
    publish_alerts(
        live_feed, tmp_path, ("new", [{"stop_id": "A"}]), stamp=timezone.now().timestamp() - 5
    )
    assert not Message.objects.filter(user=resident, kind="transit.alert").exists()
