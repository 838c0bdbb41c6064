"""Bursts: several notifications of one kind about one object become one message."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

import pytest

from portal.notifications.delivery import sweep_outbox
from portal.notifications.models import Delivery, Message
from portal.notifications.services import notify
from tests.factories import UserFactory

from .factories import set_profile

pytestmark = pytest.mark.django_db

WINDOW = 300


@pytest.fixture(autouse=True)
def _window(settings):
    settings.NOTIFICATIONS_MERGE_SECONDS = WINDOW


def update(user, state, about="case:A-17", **kwargs):
    return notify("tests.merged", user, {"state": state}, about=about, **kwargs)


def required(count, language="en"):
    with translation.override(language):
        return gettext("This field is required.") + f" ({count})"


def test_a_burst_about_one_object_is_one_message_sent_once_when_the_window_closes(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    set_profile(user, preferred_language="en", notify_sms=True, phone="+85291234567")
    with django_capture_on_commit_callbacks(execute=True):
        first = update(user, "accepted", url="/cases/17/")
    assert mail.outbox == []  # held for the window
    first.read_at = timezone.now()
    Message.objects.filter(pk=first.pk).update(read_at=first.read_at)

    with django_capture_on_commit_callbacks(execute=True):
        update(user, "in progress", url="/cases/17/")
        last = update(user, "decided", url="/cases/17/#decision")

    assert last.pk == first.pk
    message = Message.objects.get()
    assert message.merged_count == 3
    assert message.read_at is None  # news since it was read
    assert message.url == "/cases/17/#decision"
    assert message.text("en")["subject"] == required(3)
    assert message.text("en")["body"].endswith("decided")
    assert message.updated_at > message.created_at
    deliveries = list(message.deliveries.order_by("channel"))
    assert [d.channel for d in deliveries] == ["email", "sms"]
    assert {d.next_attempt_at for d in deliveries} == {
        message.created_at + timedelta(seconds=WINDOW)
    }

    assert sweep_outbox(now=message.created_at + timedelta(seconds=WINDOW - 1)).attempted == 0
    assert mail.outbox == []
    result = sweep_outbox(now=message.created_at + timedelta(seconds=WINDOW))
    assert result.sent == 2
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == required(3)
    assert "decided" in mail.outbox[0].body


def test_news_after_the_window_or_after_sending_starts_a_new_message():
    user = UserFactory()
    first = update(user, "accepted")
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(seconds=WINDOW + 1)
    )
    second = update(user, "in progress")
    assert second.pk != first.pk

    # The burst's e-mail went out: what follows is news of its own.
    Delivery.objects.filter(message=second).update(status=Delivery.Status.SENT, attempts=1)
    third = update(user, "decided")
    assert third.pk not in {first.pk, second.pk}
    assert Message.objects.filter(user=user).count() == 3


def test_other_objects_kinds_and_residents_are_not_merged():
    user, other = UserFactory(), UserFactory()
    update(user, "a", about="case:1")
    update(user, "b", about="case:2")
    update(other, "c", about="case:1")
    notify("tests.update", user, {"state": "d"}, about="case:1")
    update(user, "e", about="")  # about nothing: nothing to merge on
    update(user, "f", about="")
    assert Message.objects.count() == 6
    assert set(Message.objects.values_list("merged_count", flat=True)) == {1}


def test_a_kind_without_a_window_is_delivered_at_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notify("tests.update", user, {"state": "x"}, about="case:1")
        notify("tests.update", user, {"state": "y"}, about="case:1")
    assert len(mail.outbox) == 2


def test_a_window_of_zero_turns_merging_off(settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_MERGE_SECONDS = 0
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        update(user, "x")
        update(user, "y")
    assert Message.objects.count() == 2
    assert len(mail.outbox) == 2


def test_the_inbox_shows_the_merged_message_once(client):
    user = UserFactory()
    set_profile(user, preferred_language="en")
    client.force_login(user)
    for state in ("accepted", "in progress", "decided"):
        update(user, state)
    page = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count(required(3)) == 1
    assert "accepted" not in page and "decided" in page
    message = Message.objects.get()
    detail = client.get(f"/inbox/{message.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 updates in this message, the latest on" in detail


def test_my_page_shows_a_burst_folded_into_a_read_message_as_unread_again():
    # Folding is an UPDATE (no save signal): My page's cached inbox panel must still drop.
    from django.test import Client

    from portal.notifications.services import mark_read

    user = UserFactory()
    set_profile(user, preferred_language="en")
    client = Client()
    client.cookies["portal_language"] = "en"
    client.force_login(user)

    def inbox_panel():
        html = client.get("/me/").content.decode()
        start = html.index('id="panel-inbox"')
        return html[start : html.index("</section>", start)]

    mark_read(update(user, "accepted"))
    assert "0 unread messages" in inbox_panel()
    update(user, "decided")
    assert "1 unread message" in inbox_panel()
