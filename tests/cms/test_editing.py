"""Editors' work: moderation (editors submit, reviewers publish) and the schedule that the
minute beat task carries out."""

from django.conf import settings

import pytest

from cms.models import AnnouncementPage
from cms.tasks import publish_scheduled
from tests.cms import factories as cms
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def listing_titles(client):
    client.cookies["portal_language"] = "zh-hant"
    html = client.get(cms.index_page().url).content.decode()
    return html


def test_editors_cannot_publish_and_reviewers_can():
    page = cms.announcement(title="待審公告", slug="draft", publish_now=False)
    editor = StaffFactory(editor=True)
    reviewer = StaffFactory(reviewer=True)
    assert page.permissions_for_user(editor).can_edit()
    assert not page.permissions_for_user(editor).can_publish()
    assert page.permissions_for_user(reviewer).can_publish()


def test_translated_trees_have_the_same_rights_and_workflow():
    editor = StaffFactory(editor=True)
    for code in ("zh-hant", "zh-hans", "en"):
        home = cms.home(code)
        assert home.permissions_for_user(editor).can_add_subpage()
        assert home.get_workflow().name == "Review before publishing"


def test_an_editor_submits_and_a_reviewer_publishes(client):
    editor = StaffFactory(editor=True)
    reviewer = StaffFactory(reviewer=True)
    page = cms.announcement(title="待審公告", slug="to-review", publish_now=False)
    page.save_revision(user=editor)
    workflow_state = page.get_workflow().start(page, editor)
    assert not AnnouncementPage.objects.get(pk=page.pk).live
    assert "待審公告" not in listing_titles(client)

    task_state = workflow_state.current_task_state
    task = task_state.task.specific
    assert task.user_can_access_editor(page, reviewer)
    assert not task.user_can_access_editor(page, editor) or not task.get_actions(page, editor)
    task.on_action(task_state, reviewer, "approve")

    assert AnnouncementPage.objects.get(pk=page.pk).live
    assert "待審公告" in listing_titles(client)


def test_the_schedule_runs_every_minute_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["cms-publish-scheduled"]
    assert entry["task"] == publish_scheduled.name
    assert entry["schedule"] <= 60


def test_a_scheduled_announcement_appears_when_the_minute_task_runs(client):
    page = cms.announcement(title="預定公告", slug="scheduled", publish_now=False)
    page.go_live_at = cms.future(hours=1)
    revision = page.save_revision()
    revision.publish()  # a reviewer's "Publish" with a go-live time schedules it
    assert not AnnouncementPage.objects.get(pk=page.pk).live
    publish_scheduled.delay()
    assert "預定公告" not in listing_titles(client)  # not before its time

    # Its time comes (moved, not waited for: a loaded machine must not decide the outcome).
    revision.refresh_from_db()
    revision.approved_go_live_at = cms.past(seconds=1)
    revision.content["go_live_at"] = revision.approved_go_live_at.isoformat()
    revision.save(update_fields=["approved_go_live_at", "content"])
    AnnouncementPage.objects.filter(pk=page.pk).update(go_live_at=revision.approved_go_live_at)
    publish_scheduled.delay()  # the next beat run after its time
    assert AnnouncementPage.objects.get(pk=page.pk).live
    assert "預定公告" in listing_titles(client)


def test_an_expired_announcement_is_unpublished_by_the_minute_task():
    page = cms.announcement(title="過期公告", slug="expiring", expire_at=cms.future(days=1))
    AnnouncementPage.objects.filter(pk=page.pk).update(expire_at=cms.past(seconds=5))
    publish_scheduled.delay()
    page.refresh_from_db()
    assert not page.live and page.expired


def test_editors_see_the_time_zone_next_to_dates(admin_client):
    handler = AnnouncementPage.get_edit_handler()
    texts = []

    def walk(panel):
        texts.append(str(getattr(panel, "help_text", "") or ""))
        texts.append(str(getattr(panel, "content", "") or ""))
        for child in getattr(panel, "children", []):
            walk(child)

    walk(handler)
    assert sum(settings.TIME_ZONE in text for text in texts) >= 3  # go live, expiry, a note
