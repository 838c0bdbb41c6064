"""Delivery: once per channel, retries with backoff, the sweep, and racing workers."""

import logging
import threading
from datetime import timedelta

from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

import pytest
from kombu.exceptions import OperationalError

from portal.notifications import delivery as outbox
from portal.notifications import tasks
from portal.notifications.channels import CHANNELS
from portal.notifications.delivery import sweep_outbox
from portal.notifications.models import Delivery
from portal.notifications.services import Attachment
from tests.factories import UserFactory

from .backends import FailOnceEmailBackend, GateEmailBackend
from .factories import DeliveryFactory, MessageFactory, set_profile
from .kinds import note

BACKENDS = "tests.portal.notifications.backends"


def sms_user(**profile):
    user = UserFactory()
    set_profile(user, notify_sms=True, phone="+85291234567", **profile)
    return user


@pytest.mark.django_db(transaction=True)
def test_committed_notify_delivers_once_per_channel(sms_outbox):
    user = sms_user()
    with transaction.atomic():
        message = note(
            user,
            "Your appointment is booked",
            "Monday 10:00 at the Central clinic.",
            url="/clinics/appointments/12/",
        )
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [user.email]
    assert email.subject == "Your appointment is booked"
    assert "Monday 10:00 at the Central clinic." in email.body
    assert "https://portal.example/clinics/appointments/12/" in email.body
    assert f"https://portal.example/inbox/{message.pk}/" in email.body
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    # The same every time it goes out: a resend after a worker crash is recognisable.
    assert email.extra_headers["Message-ID"] == f"<notification-{message.pk}.email@portal.example>"
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="https://portal.example/clinics/appointments/12/"' in html

    assert len(sms_outbox) == 1
    assert sms_outbox[0]["phone"] == "+85291234567"
    assert "Your appointment is booked" in sms_outbox[0]["text"]
    assert "https://portal.example/clinics/appointments/12/" in sms_outbox[0]["text"]

    deliveries = {d.channel: d for d in message.deliveries.all()}
    assert set(deliveries) == {"email", "sms"}
    for delivery in deliveries.values():
        assert delivery.status == Delivery.Status.SENT
        assert delivery.attempts == 1
        assert delivery.sent_at is not None
    assert deliveries["email"].address == user.email

    # Whatever runs again afterwards sends nothing more.
    assert sweep_outbox(now=timezone.now() + timedelta(days=1)).attempted == 0
    tasks.deliver_message.apply(args=[message.pk])
    assert len(mail.outbox) == 1
    assert len(sms_outbox) == 1


@pytest.mark.django_db
def test_delivering_twice_sends_once():
    user = UserFactory()
    message = note(user, "s", "b")  # no commit yet: nothing sent
    delivery = message.deliveries.get()

    assert outbox.deliver_message(message.pk) == 1
    assert outbox.deliver_message(message.pk) == 0
    tasks.deliver_message.apply(args=[message.pk])  # a task redelivered after a worker crash
    assert outbox.attempt_delivery(delivery.pk) is False

    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_email_is_written_in_the_recipients_language(django_capture_on_commit_callbacks):
    user = UserFactory()
    set_profile(user, preferred_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        note(user, "s", "b")
    html, _mimetype = mail.outbox[0].alternatives[0]
    assert '<html lang="zh-hans">' in html


@pytest.mark.django_db
def test_attachment_arrives_on_the_email(django_capture_on_commit_callbacks):
    user = UserFactory()
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    with django_capture_on_commit_callbacks(execute=True):
        note(
            user,
            "Your appointment",
            "Add it to your calendar.",
            attachments=[
                Attachment("appointment.ics", ics, "text/calendar"),
                Attachment("letter.pdf", b"%PDF-1.4\x00\xff", "application/pdf"),
            ],
        )
    attachments = mail.outbox[0].attachments
    assert [(a.filename, a.mimetype) for a in attachments] == [
        ("appointment.ics", "text/calendar"),
        ("letter.pdf", "application/pdf"),
    ]
    assert attachments[0].content == ics
    assert attachments[1].content == b"%PDF-1.4\x00\xff"
    # The attachment really is in the MIME message the server receives.
    raw = mail.outbox[0].message().as_string()
    assert 'filename="appointment.ics"' in raw
    assert "text/calendar" in raw


def noted_with_made_attachment():
    made = Attachment("code.txt", mimetype="text/plain", made_by="tests.upper", made_from="k7q2")
    return note(UserFactory(), attachments=[made])


@pytest.mark.django_db
def test_an_attachment_is_made_when_the_email_is_sent(upper_maker):
    message = noted_with_made_attachment()
    assert upper_maker == []  # recorded, not made
    outbox.deliver_message(message.pk)
    assert upper_maker == ["k7q2"]
    [attachment] = mail.outbox[0].attachments
    assert (attachment.filename, attachment.content, attachment.mimetype) == (
        "code.txt",
        "K7Q2",
        "text/plain",
    )


@pytest.mark.django_db
def test_an_attachment_whose_maker_is_gone_fails_its_email_for_good(upper_maker):
    from portal.notifications import attachments

    message = noted_with_made_attachment()
    attachments.unregister_maker("tests.upper")  # the app that drew it was removed
    outbox.deliver_message(message.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert "tests.upper" in delivery.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_attachment_its_maker_cannot_make_fails_its_email_for_good(upper_maker):
    from portal.notifications import attachments

    message = noted_with_made_attachment()
    # Replaced by one that returns str, not bytes (the fixture unregisters it after the test).
    attachments.unregister_maker("tests.upper")
    attachments.register_maker("tests.upper", lambda value: value)
    outbox.deliver_message(message.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert "code.txt" in delivery.last_error and "returned str" in delivery.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_failing_delivery_backs_off_then_fails(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = f"{BACKENDS}.BrokenEmailBackend"
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        note(user, "s", "b")

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert "451 mail server unavailable" in delivery.last_error
    assert delivery.next_attempt_at - delivery.claimed_at == timedelta(seconds=60)

    # Not due yet: the sweep leaves it alone.
    assert sweep_outbox(now=delivery.next_attempt_at - timedelta(seconds=1)).attempted == 0

    assert sweep_outbox(now=delivery.next_attempt_at).attempted == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - delivery.claimed_at == timedelta(seconds=120)

    sweep_outbox(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED  # NOTIFICATIONS_MAX_ATTEMPTS = 3
    assert delivery.attempts == 3
    assert "SMTPServerDisconnected" in delivery.last_error

    assert sweep_outbox(now=timezone.now() + timedelta(days=30)).attempted == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_delivery_recovers_after_a_failure(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = f"{BACKENDS}.FailOnceEmailBackend"
    FailOnceEmailBackend.reset(failures=1)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        note(user, "Decision on your application", "Approved.")
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING

    sweep_outbox(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    assert delivery.last_error == ""
    assert [m.subject for m in mail.outbox] == ["Decision on your application"]


def test_backoff_doubles_up_to_a_ceiling(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 3600
    delays = [outbox.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.django_db
def test_a_failing_channel_does_not_resend_the_others(
    settings, sms_outbox, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = f"{BACKENDS}.BrokenSMSBackend"
    user = sms_user()
    with django_capture_on_commit_callbacks(execute=True):
        message = note(user, "s", "b")
    sms = message.deliveries.get(channel="sms")
    assert sms.status == Delivery.Status.PENDING
    assert "SMS gateway unreachable" in sms.last_error

    settings.SMS_BACKEND = "portal.notifications.sms.LocmemSMSBackend"
    sweep_outbox(now=sms.next_attempt_at)
    assert len(sms_outbox) == 1
    assert len(mail.outbox) == 1
    assert set(message.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}


@pytest.mark.django_db
def test_address_gone_fails_at_once_without_retry():
    user = UserFactory()
    message = note(user, "s", "b")
    type(user).objects.filter(pk=user.pk).update(email="")

    outbox.deliver_message(message.pk)
    delivery = message.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    assert "no e-mail address" in delivery.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_delivery_left_sending_by_a_dead_worker_is_sent_once_after_its_lease(caplog):
    now = timezone.now()
    lease = outbox.lease_duration()
    message = note(UserFactory(), "Your letter is ready", "Body.")
    delivery = message.deliveries.get()
    # A worker claimed it and died before recording anything.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING,
        attempts=1,
        claimed_at=now - lease + timedelta(seconds=5),
        lease_expires_at=now + timedelta(seconds=5),
    )

    # Its lease still runs: nobody else may send it (the worker may only be slow).
    assert sweep_outbox(now=now).attempted == 0
    assert outbox.deliver_message(message.pk, now=now) == 0
    assert mail.outbox == []

    later = now + timedelta(seconds=6)
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        result = sweep_outbox(now=later)
    assert (result.attempted, result.reclaimed, result.sent) == (1, 1, 1)
    assert "stopped before recording a result" in caplog.text
    assert [m.subject for m in mail.outbox] == ["Your letter is ready"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    assert delivery.lease_expires_at is None

    # Sent once: no later sweep or task sends it again.
    sweep_outbox(now=later + timedelta(days=1))
    outbox.deliver_message(message.pk, now=later + timedelta(days=1))
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_row_left_sending_before_leases_is_logged_when_sent_again(caplog):
    """Migration 0003 gave rows the old code left "sending" a lease, but some have no claim
    time: they are abandoned all the same, and the log says so."""
    now = timezone.now()
    message = note(UserFactory(), "Your letter is ready", "Body.")
    Delivery.objects.filter(message=message).update(
        status=Delivery.Status.SENDING,
        attempts=1,
        claimed_at=None,
        lease_expires_at=now - timedelta(seconds=1),
    )
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        result = sweep_outbox(now=now)
    assert (result.reclaimed, result.sent) == (1, 1)
    assert "claimed it at None stopped before recording a result" in caplog.text


@pytest.mark.django_db
def test_two_sweeps_that_find_one_abandoned_delivery_send_and_log_it_once(monkeypatch, caplog):
    """Both sweeps list the dead worker's delivery; the second claims and sends it before the
    first gets to it. Only the one whose claim wins logs that it sends it again."""
    now = timezone.now()
    message = note(UserFactory(), "Your letter is ready", "Body.")
    Delivery.objects.filter(message=message).update(
        status=Delivery.Status.SENDING,
        attempts=1,
        claimed_at=now - timedelta(hours=1),
        lease_expires_at=now - timedelta(seconds=1),
    )
    original = outbox.attempt_delivery
    other_sweep = []

    def another_sweep_gets_there_first(pk, **kwargs):
        monkeypatch.setattr(outbox, "attempt_delivery", original)  # the other sweep runs plain
        other_sweep.append(sweep_outbox(now=now))
        return original(pk, **kwargs)

    monkeypatch.setattr(outbox, "attempt_delivery", another_sweep_gets_there_first)
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        first = sweep_outbox(now=now)

    assert (other_sweep[0].reclaimed, other_sweep[0].sent) == (1, 1)
    assert (first.reclaimed, first.sent) == (1, 0)  # found it, lost the claim
    assert caplog.text.count("stopped before recording a result") == 1
    assert [m.subject for m in mail.outbox] == ["Your letter is ready"]


@pytest.mark.django_db
def test_claiming_gives_a_lease_and_a_result_clears_it(monkeypatch):
    now = timezone.now()
    message = note(UserFactory(), "s", "b")
    channel = CHANNELS[Delivery.Channel.EMAIL]
    original_send = channel.send
    seen = {}

    def look_while_sending(msg):
        row = Delivery.objects.get(message=message)
        seen.update(status=row.status, claimed_at=row.claimed_at, lease=row.lease_expires_at)
        return original_send(msg)

    monkeypatch.setattr(channel, "send", look_while_sending)
    assert outbox.attempt_delivery(message.deliveries.get().pk, now=now)
    assert (seen["status"], seen["claimed_at"]) == (Delivery.Status.SENDING, now)
    assert (
        now + outbox.lease_duration() <= seen["lease"] <= timezone.now() + outbox.lease_duration()
    )
    assert message.deliveries.get().lease_expires_at is None


@pytest.mark.django_db
def test_a_lease_runs_from_the_claim_not_from_when_a_long_sweep_began(monkeypatch):
    message = note(UserFactory(), "s", "b")
    sweep_began = timezone.now() - timedelta(minutes=20)  # a sweep still going 20 minutes on
    seen = {}
    channel = CHANNELS[Delivery.Channel.EMAIL]
    original_send = channel.send

    def look_while_sending(msg):
        seen["lease"] = Delivery.objects.get(message=message).lease_expires_at
        return original_send(msg)

    monkeypatch.setattr(channel, "send", look_while_sending)
    assert outbox.attempt_delivery(message.deliveries.get().pk, now=sweep_began)
    assert seen["lease"] > timezone.now()  # still held while it sends


@pytest.mark.django_db
def test_a_message_that_kills_its_worker_every_time_is_given_up(settings):
    now = timezone.now()
    stuck = DeliveryFactory(
        status=Delivery.Status.SENDING,
        attempts=settings.NOTIFICATIONS_MAX_ATTEMPTS,
        claimed_at=now - timedelta(minutes=10),
        lease_expires_at=now - timedelta(minutes=5),
    )

    result = sweep_outbox(now=now)
    assert (result.abandoned, result.attempted) == (1, 0)
    stuck.refresh_from_db()
    assert stuck.status == Delivery.Status.FAILED
    assert "every attempt" in stuck.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_late_failure_does_not_undo_the_claim_that_took_over(settings, monkeypatch):
    """Worker A's lease ran out and B re-claimed the row: A's failure must not set it back to
    pending (a third worker would then send while B is sending)."""
    settings.EMAIL_BACKEND = f"{BACKENDS}.FailOnceEmailBackend"
    FailOnceEmailBackend.reset(failures=1)
    now = timezone.now()
    message = note(UserFactory(), "s", "b")
    pk = message.deliveries.get().pk
    taken_over_at = now + outbox.lease_duration() + timedelta(seconds=1)
    channel = CHANNELS[Delivery.Channel.EMAIL]
    original_send = channel.send

    def slow_send(msg):
        # While A "sends", its lease expires and B claims the row.
        Delivery.objects.filter(pk=pk).update(
            claimed_at=taken_over_at,
            lease_expires_at=taken_over_at + outbox.lease_duration(),
            attempts=2,
        )
        return original_send(msg)  # fails (FailOnceEmailBackend)

    monkeypatch.setattr(channel, "send", slow_send)
    assert not outbox.attempt_delivery(pk, now=now)
    row = Delivery.objects.get(pk=pk)
    assert row.status == Delivery.Status.SENDING
    assert row.claimed_at == taken_over_at


@pytest.mark.django_db
def test_sweep_delivers_due_messages_oldest_first_in_batches():
    now = timezone.now()
    old = DeliveryFactory(next_attempt_at=now - timedelta(hours=2), message__subject="old")
    newer = DeliveryFactory(next_attempt_at=now - timedelta(hours=1), message__subject="newer")
    later = DeliveryFactory(  # a retry, not due yet
        next_attempt_at=now + timedelta(hours=1), attempts=1, message__subject="later"
    )

    assert sweep_outbox(now=now, batch_size=1).sent == 1
    assert [m.subject for m in mail.outbox] == ["old"]
    result = sweep_outbox(now=now)
    assert (result.attempted, result.sent) == (1, 1)
    assert [m.subject for m in mail.outbox] == ["old", "newer"]
    later.refresh_from_db()
    assert later.status == Delivery.Status.PENDING
    for delivery in (old, newer):
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SENT


@pytest.mark.django_db
def test_first_attempt_does_not_wait_for_the_workers_clock():
    # The web server stamped the delivery; the worker's clock runs two seconds behind.
    stamped = timezone.now() + timedelta(seconds=2)
    delivery = DeliveryFactory(next_attempt_at=stamped, created_at=stamped)
    assert outbox.deliver_message(delivery.message_id) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweep_task_takes_batch_after_batch_while_they_come_back_full(settings):
    settings.NOTIFICATIONS_SWEEP_BATCH_SIZE = 2
    for _ in range(5):
        DeliveryFactory(next_attempt_at=timezone.now() - timedelta(minutes=5))
    tasks.sweep_outbox.apply()
    assert len(mail.outbox) == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


@pytest.mark.django_db
def test_sweep_task_runs_the_sweep():
    DeliveryFactory(next_attempt_at=timezone.now() - timedelta(minutes=5))
    tasks.sweep_outbox.apply()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_broker_failure_is_logged_and_swallowed(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.deliver_message, "apply_async", broker_down)
    user = UserFactory()
    with (
        caplog.at_level(logging.WARNING, logger="portal.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = note(user, "s", "b")

    assert "Could not queue delivery" in caplog.text
    assert "Connection refused" in caplog.text
    assert message.deliveries.get().status == Delivery.Status.PENDING
    assert mail.outbox == []

    sweep_outbox()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_once_on_postgresql(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the claim race is tested on PostgreSQL; SQLite runs one writer at a time")
    settings.EMAIL_BACKEND = f"{BACKENDS}.GateEmailBackend"
    GateEmailBackend.reset()
    delivery = DeliveryFactory(message=MessageFactory())
    workers = 8
    start = threading.Barrier(workers)
    finished = threading.Semaphore(0)
    results = []

    def worker():
        try:
            start.wait(timeout=30)
            results.append(outbox.attempt_delivery(delivery.pk))
        finally:
            connection.close()  # this thread's own connection
            finished.release()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        # The winner is held inside the send, so every other worker must give up while the
        # send is in progress. With a broken claim a second worker would be held too and
        # this wait would run out.
        for _ in range(workers - 1):
            assert finished.acquire(timeout=30), "more than one worker is sending"
        assert GateEmailBackend.entered.wait(timeout=30), "no worker is sending"
        assert GateEmailBackend.senders == 1
    finally:
        GateEmailBackend.gate.set()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(results) == [False] * (workers - 1) + [True]
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_default_sms_backend_writes_the_text_to_the_log(settings, caplog):
    settings.SMS_BACKEND = "portal.notifications.sms.LogSMSBackend"
    user = sms_user(notify_email=False)
    message = note(user, "Check-in code", "Your code is 4711.")
    with caplog.at_level(logging.INFO, logger="portal.notifications.sms"):
        assert outbox.deliver_message(message.pk) == 1
    assert "SMS to +85291234567" in caplog.text
    assert "Your code is 4711." in caplog.text
    assert message.deliveries.get().status == Delivery.Status.SENT
