"""Redis stops while an officer moves a case on: the status changes, the page answers, and the
resident's message goes out once Redis is back (the notifications outbox, through the case's
own path). Runs its own redis-server, so stopping it disturbs nobody else."""

import logging

from django.core import mail
from django.urls import reverse

import pytest

from portal.cases.models import CaseState
from portal.celery import app as celery_app
from portal.notifications import tasks
from portal.notifications.models import Delivery, Message
from tests.factories import UserFactory
from tests.portal.notifications.test_outage import run_queued_tasks

from .factories import CaseFactory, OfficeFactory, ServiceFactory, officer_of

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_correction_requested_while_redis_is_down_reaches_the_resident_after(
    broker, caplog, settings, client
):
    settings.REDIS_RETRY_SECONDS = 0
    # A task per message, at once (test_nudges.py has the rush, one task a second).
    settings.NOTIFICATIONS_NUDGE_SECONDS = 0
    settings.LANGUAGE_CODE = "en"
    office = OfficeFactory(code="OUT")
    officer = officer_of(office)
    resident = UserFactory(email="lam@example.org")
    resident.profile.preferred_language = "en"
    resident.profile.save()
    case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    client.force_login(officer)
    url = reverse("cases_admin_case", args=[case.pk])

    broker.stop()
    with caplog.at_level(logging.WARNING, logger="portal.notifications"):
        response = client.post(
            url, {"action": "correction", "correction-message": "a clearer photo"}
        )
    assert response.status_code == 302  # the officer's page did not fail
    case.refresh_from_db()
    assert case.state == CaseState.CORRECTION_REQUESTED
    message = Message.objects.get(user=resident, kind="cases.correction_requested")
    email = message.deliveries.get(channel="email")
    assert email.status == Delivery.Status.PENDING and email.attempts == 0
    assert "Could not queue delivery" in caplog.text
    assert not mail.outbox

    broker.start()  # empty: the delivery task was never published
    assert run_queued_tasks(celery_app) == 0
    tasks.sweep_outbox.apply()
    tasks.sweep_outbox.apply()
    email.refresh_from_db()
    assert email.status == Delivery.Status.SENT and email.attempts == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["lam@example.org"] and case.reference in sent.subject
    assert "a clearer photo" in sent.body
