"""Residents: My page's announcements for their street and community, unread marked, and a
notification of an urgent announcement for their area, once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest
from bs4 import BeautifulSoup

from cms.models import UrgentBroadcast
from cms.residents import KIND, send_pending_broadcasts
from portal.notifications.models import KindPreference, Message
from tests.cms import factories as cms
from tests.factories import StreetFactory, UserFactory

pytestmark = pytest.mark.django_db


def living_on(street, **kwargs):
    user = UserFactory(**kwargs)
    user.profile.street = street
    user.profile.save()
    return user


def panel(client, user, language="zh-hant"):
    client.force_login(user)
    client.cookies["portal_language"] = language
    response = client.get("/me/")
    assert response.status_code == 200
    html = BeautifulSoup(response.content.decode(), "html.parser")
    return html.select_one("#panel-announcements")


def titles(panel_html):
    return [a.get_text() for a in panel_html.select(".cms-announcement__title a")]


def test_my_page_shows_announcements_for_my_street_and_community_urgent_first(client):
    mine, other = StreetFactory(), StreetFactory()
    cms.announcement(title="全區消息", slug="all")
    cms.announcement(title="本街工程", slug="street", streets=[mine])
    cms.announcement(title="別街工程", slug="other", streets=[other])
    cms.announcement(title="本社區緊急", slug="urgent", communities=[mine.community], urgent=True)
    assert titles(panel(client, living_on(mine))) == ["本社區緊急", "本街工程", "全區消息"]
    assert titles(panel(client, living_on(other))) == ["別街工程", "全區消息"]


def test_unread_announcements_are_marked_until_opened(client):
    street = StreetFactory()
    page = cms.announcement(
        title="本街工程", slug="street", streets=[street], translations={"en": "Works"}
    )
    resident = living_on(street)
    html = panel(client, resident)
    assert html.select(".cms-announcement--unread")
    client.get(page.url)  # read it (in any language)
    html = panel(client, resident, "en")
    assert titles(html) == ["Works"]
    assert not html.select(".cms-announcement--unread")


def test_a_resident_without_a_street_is_asked_for_it(client):
    cms.announcement(title="全區消息", slug="all")
    html = panel(client, UserFactory(), "en")
    assert "Add your street to your profile" in html.get_text()
    assert titles(html) == ["全區消息"]


def test_an_urgent_announcement_notifies_its_area_once(django_capture_on_commit_callbacks):
    mine, other = StreetFactory(), StreetFactory()
    resident, elsewhere = living_on(mine), living_on(other)
    with django_capture_on_commit_callbacks(execute=True):
        page = cms.announcement(
            title="本街停水",
            slug="urgent",
            streets=[mine],
            urgent=True,
            translations={"en": "Water off"},
        )
    messages = Message.objects.filter(kind=KIND)
    assert [m.user for m in messages] == [resident]
    message = messages.get()
    assert "本街停水" in message.texts["zh-hant"]["inbox"]["subject"]
    assert "Water off" in message.texts["en"]["inbox"]["subject"]
    # Publishing again (an edit, a translation) tells nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        cms.publish(page)
    send_pending_broadcasts(older_than_seconds=0)
    assert Message.objects.filter(kind=KIND).count() == 1
    assert not Message.objects.filter(user=elsewhere).exists()


def test_a_resident_may_turn_urgent_announcements_off(django_capture_on_commit_callbacks):
    street = StreetFactory()
    resident = living_on(street)
    KindPreference.objects.create(user=resident, kind=KIND, inbox=False, email=False, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        cms.announcement(title="全區停水", slug="urgent", urgent=True)
    assert not Message.objects.filter(user=resident, kind=KIND).exists()


def test_the_minute_task_sends_what_was_never_queued():
    street = StreetFactory()
    resident = living_on(street)
    cms.announcement(title="全區停水", slug="urgent", urgent=True)  # on_commit never ran
    assert UrgentBroadcast.objects.filter(sent_at__isnull=True).exists()
    assert not Message.objects.filter(user=resident, kind=KIND).exists()
    send_pending_broadcasts(older_than_seconds=0)
    assert Message.objects.filter(user=resident, kind=KIND).count() == 1


def test_an_ordinary_announcement_notifies_nobody(django_capture_on_commit_callbacks):
    living_on(StreetFactory())
    with django_capture_on_commit_callbacks(execute=True):
        cms.announcement(title="一般消息", slug="normal")
    assert not Message.objects.filter(kind=KIND).exists()


def test_the_residents_of_a_street_share_its_list_and_a_publish_shows_at_once(client):
    street = StreetFactory()
    cms.announcement(title="本街工程", slug="street", streets=[street])
    first, second, third = (living_on(street) for _ in range(3))
    assert titles(panel(client, first)) == ["本街工程"]
    # The second resident's first visit reads no announcement: the street's list is kept,
    # what they have read is their own.
    with CaptureQueriesContext(connection) as captured:
        html = panel(client, second)
    assert titles(html) == ["本街工程"] and html.select(".cms-announcement--unread")
    sql = [q["sql"] for q in captured.captured_queries]
    assert not [q for q in sql if '"cms_announcementpage"' in q or '"wagtailcore_site"' in q]
    assert [q for q in sql if '"cms_announcementread"' in q]
    # A publish replaces the kept list at once (the site's epoch): the next resident's first
    # visit lists the new announcement.
    cms.announcement(title="本街停電", slug="power", streets=[street], urgent=True)
    assert titles(panel(client, third)) == ["本街停電", "本街工程"]
