"""The inbox pages, the header's unread count, and the outbox in the Wagtail admin."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import connection
from django.template import Context, RequestContext, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from portal.notifications.context_processors import inbox as inbox_context
from portal.notifications.models import Delivery, Message
from tests.factories import StaffFactory, UserFactory

from .factories import DeliveryFactory, MessageFactory

pytestmark = pytest.mark.django_db

INBOX_URL = "/inbox/"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def inbox_client(client, user):
    client.force_login(user)
    # English, so the assertions below read the source strings.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def detail_url(message):
    return reverse("notifications:detail", args=[message.pk])


def test_urls_are_where_the_header_links():
    assert reverse("notifications:inbox") == INBOX_URL
    assert reverse("notifications:detail", args=[12]) == "/inbox/12/"
    assert reverse("notifications:mark_all_read") == "/inbox/read-all/"


@pytest.mark.parametrize("url", [INBOX_URL, "/inbox/1/"])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_anonymous_mark_all_read_changes_nothing(client, user):
    MessageFactory(user=user)
    response = client.post(reverse("notifications:mark_all_read"))
    assert response.status_code == 302
    assert Message.objects.filter(read_at__isnull=True).count() == 1


def test_empty_inbox_says_so(inbox_client):
    response = inbox_client.get(INBOX_URL)
    assert response.status_code == 200
    assert "You have no messages yet." in response.text
    assert "Mark all as read" not in response.text


def test_inbox_lists_own_messages_newest_first_with_unread_marked(inbox_client, user):
    now = timezone.now()
    old = MessageFactory(user=user, subject="Old news", created_at=now - timedelta(days=2))
    new = MessageFactory(user=user, subject="Fresh news", created_at=now - timedelta(hours=1))
    MessageFactory(user=user, subject="Already read", created_at=now - timedelta(days=1))
    Message.objects.filter(subject="Already read").update(read_at=now)
    MessageFactory(subject="Someone else's letter")

    response = inbox_client.get(INBOX_URL)
    html = response.text
    assert html.index("Fresh news") < html.index("Already read") < html.index("Old news")
    assert "Someone else&#x27;s letter" not in html and "Someone else's letter" not in html
    assert html.count('class="inbox-item unread"') == 2
    assert html.count(">Unread</strong>") == 2  # not colour alone
    assert "2 unread messages" in html
    assert "Mark all as read" in html
    assert f'href="{detail_url(new)}"' in html
    assert f'href="{detail_url(old)}"' in html
    # The header badge shows the same count.
    assert '<span class="badge" aria-hidden="true">2</span>' in html


def test_inbox_is_paginated_and_bad_page_numbers_do_not_break_it(inbox_client, user):
    now = timezone.now()
    for n in range(25):
        MessageFactory(user=user, subject=f"Letter {n:02d}", created_at=now - timedelta(minutes=n))

    first = inbox_client.get(INBOX_URL)
    assert first.text.count('<li class="inbox-item') == 20
    assert "Letter 00" in first.text and "Letter 20" not in first.text
    assert 'href="?page=2"' in first.text
    assert "Page 1 of 2" in first.text

    second = inbox_client.get(INBOX_URL, {"page": 2})
    assert second.text.count('<li class="inbox-item') == 5
    assert "Letter 24" in second.text
    assert 'href="?page=1"' in second.text

    for page in ["abc", "-1", "0", "999999999999999999999999", "2.5", "%00"]:
        response = inbox_client.get(INBOX_URL, {"page": page})
        assert response.status_code == 200, page


def test_detail_shows_the_message_and_marks_it_read(inbox_client, user):
    message = MessageFactory(
        user=user,
        subject="Card ready <b>now</b>",
        body="Collect it at the service centre.\nBring your ID.",
        url="/cards/",
    )
    response = inbox_client.get(detail_url(message))
    assert response.status_code == 200
    assert "Card ready &lt;b&gt;now&lt;/b&gt;" in response.text
    assert "Collect it at the service centre.<br>Bring your ID." in response.text
    assert 'href="/cards/"' in response.text
    message.refresh_from_db()
    first_read = message.read_at
    assert first_read is not None

    inbox_client.get(detail_url(message))
    message.refresh_from_db()
    assert message.read_at == first_read


def test_another_users_message_is_not_found_and_stays_unread(inbox_client):
    theirs = MessageFactory(subject="Private: lab results")
    response = inbox_client.get(detail_url(theirs))
    assert response.status_code == 404
    assert "Private: lab results" not in response.text
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "path", ["/inbox/0/", "/inbox/987654/", "/inbox/99999999999999999999999/", "/inbox/abc/"]
)
def test_bad_message_ids_are_not_found(inbox_client, path):
    assert inbox_client.get(path).status_code == 404


def test_mark_all_read_marks_only_own_messages(inbox_client, user):
    mine = [MessageFactory(user=user) for _ in range(3)]
    theirs = MessageFactory()

    response = inbox_client.post(reverse("notifications:mark_all_read"), follow=True)
    assert response.redirect_chain[-1][0] == INBOX_URL
    assert "3 messages marked as read." in response.text
    assert not Message.objects.filter(pk__in=[m.pk for m in mine], read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_needs_post(inbox_client, user):
    MessageFactory(user=user)
    assert inbox_client.get(reverse("notifications:mark_all_read")).status_code == 405
    assert Message.objects.filter(read_at__isnull=True).count() == 1


def test_mark_all_read_needs_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    MessageFactory(user=user)
    assert client.post(reverse("notifications:mark_all_read")).status_code == 403
    assert Message.objects.filter(read_at__isnull=True).count() == 1


# The header's unread count --------------------------------------------------------------------

HEADER = Template(
    "{% load i18n %}{% if inbox_unread %}<span>{{ inbox_unread }}</span>"
    "{% blocktranslate count counter=inbox_unread %}{{ counter }} unread{% plural %}"
    "{{ counter }} unread{% endblocktranslate %}{% endif %}"
)


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_unread_count_is_one_query_per_request(user, django_assert_num_queries):
    MessageFactory(user=user)
    MessageFactory(user=user, read_at=timezone.now())
    MessageFactory(user=user)
    MessageFactory()  # someone else's
    request = request_for(user)
    with django_assert_num_queries(1):
        # Two templates rendered for the same request (a page and a My page panel).
        first = HEADER.render(RequestContext(request, {}, [inbox_context]))
        second = HEADER.render(RequestContext(request, {}, [inbox_context]))
    assert first == second == "<span>2</span>2 unread"


def test_unread_count_costs_nothing_until_a_template_uses_it(user, django_assert_num_queries):
    with django_assert_num_queries(0):
        context = inbox_context(request_for(user))
        Template("no header here").render(Context(context))


def test_anonymous_users_get_no_unread_count(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert inbox_context(request_for(AnonymousUser())) == {}


def test_reading_a_message_lowers_the_count_shown(inbox_client, user):
    message = MessageFactory(user=user)
    MessageFactory(user=user)
    response = inbox_client.get(detail_url(message))
    assert '<span class="badge" aria-hidden="true">1</span>' in response.text


# Wagtail admin ---------------------------------------------------------------------------------


def admin_client(client, **flags):
    # Staff must have MFA (portal.accounts.middleware.StaffMFAMiddleware).
    staff = StaffFactory(is_staff=True, mfa=True, **flags)
    client.force_login(staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_superuser_sees_failed_deliveries_read_only(client):
    client = admin_client(client, is_superuser=True)
    failed = DeliveryFactory(
        status=Delivery.Status.FAILED,
        attempts=3,
        last_error="SMTPServerDisconnected: 451 try later",
        message__subject="Your card is ready",
    )

    index = client.get(reverse("notification_deliveries:index"), {"status": "failed"})
    assert index.status_code == 200
    assert "SMTPServerDisconnected: 451 try later" in index.text
    assert "Your card is ready" in index.text

    inspect = client.get(reverse("notification_deliveries:inspect", args=[failed.pk]))
    assert inspect.status_code == 200
    assert "451 try later" in inspect.text

    assert client.get(reverse("notification_messages:index")).status_code == 200
    for name in ("notification_deliveries:edit", "notification_deliveries:delete"):
        response = client.post(reverse(name, args=[failed.pk]), {"status": "pending"})
        assert response.status_code in {302, 403}
    assert client.get(reverse("notification_deliveries:add")).status_code in {302, 403}
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED


def test_other_staff_cannot_see_the_outbox(client):
    editor = StaffFactory(is_staff=True, mfa=True)
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    message = MessageFactory(subject="Private: lab results")

    assert client.get(reverse("wagtailadmin_home")).status_code == 200  # can use the admin
    for url in (
        reverse("notification_messages:index"),
        reverse("notification_messages:inspect", args=[message.pk]),
        reverse("notification_deliveries:index"),
    ):
        response = client.get(url)
        assert response.status_code in {302, 403}, url
        assert "Private: lab results" not in response.text


# My page panel -----------------------------------------------------------------------------------


def test_my_page_panel_shows_the_latest_messages(inbox_client, user):
    now = timezone.now()
    for n in range(5):
        MessageFactory(user=user, subject=f"Letter {n}", created_at=now - timedelta(hours=n))
    Message.objects.filter(subject="Letter 0").update(read_at=now)

    html = inbox_client.get(reverse("mypage:index")).text
    panel = html[html.index('id="panel-inbox"') :]
    panel = panel[: panel.index("</section>")]
    assert "Letter 0" in panel and "Letter 2" in panel and "Letter 3" not in panel
    assert "4 unread messages" in panel
    assert f'href="{INBOX_URL}"' in panel


def test_my_page_queries_do_not_grow_with_the_inbox(inbox_client, user, settings):
    settings.MYPAGE_CACHE_PANELS = False  # every visit renders every panel

    def queries_for_my_page():
        with CaptureQueriesContext(connection) as queries:
            assert inbox_client.get(reverse("mypage:index")).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    MessageFactory(user=user)
    queries_for_my_page()  # fills the per-language caches (the footer's links)
    few = queries_for_my_page()
    for _ in range(30):
        MessageFactory(user=user)
    many = queries_for_my_page()
    assert len(many) == len(few)
    # The header badge and the panel share one count, read with the panel's list.
    counts = [sql for sql in many if "COUNT(" in sql and "notifications_message" in sql]
    assert len(counts) == 1 and "unread_total" in counts[0]


def test_the_latest_messages_and_the_unread_count_are_one_query(user, django_assert_num_queries):
    """My page's inbox panel reads its list and the count (all the user's unread, not only
    those listed; nobody else's) together, as inbox_messages() and unread_count() answer."""
    from portal.notifications.services import inbox_messages, latest_and_unread, unread_count

    for _n in range(4):
        MessageFactory(user=user)
    MessageFactory(user=user, read_at=timezone.now())
    MessageFactory()  # someone else's, unread
    reader, nobody = UserFactory(), UserFactory()
    MessageFactory(user=reader, read_at=timezone.now())
    for account in (user, reader, nobody):
        with django_assert_num_queries(1):
            latest, unread = latest_and_unread(account, 3)
        assert [m.pk for m in latest] == [m.pk for m in inbox_messages(account)[:3]]
        assert unread == unread_count(account)
    assert latest_and_unread(user, 3)[1] == 4 and latest_and_unread(reader, 3)[1] == 0
