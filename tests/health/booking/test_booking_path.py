"""The booking request is the one residents fire all at once when new times open: keep it lean
(query counts pinned here) and make sure a booker who loses the race leaves nothing behind."""

from django.urls import reverse

import pytest

from health.booking import errors, rules, schedules
from health.booking.models import Appointment, Slot
from portal.notifications.models import Delivery, Message
from portal.workflow import history
from portal.workflow.models import StateChange
from tests.factories import UserFactory

from .factories import DependantFactory, SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db

# Session with its user (the staff check and the profile joined), slot (with the resident's own
# booking in it); then the transaction: lock the resident, both person rules in one query,
# appointment, its history row, message, attachments, deliveries, the place, commit. A new query
# here is a choice. (18 before the workflow: its history row costs one INSERT, and the savepoint
# around the appointment's INSERT, two statements, went: a refused INSERT now retries the whole
# attempt. 16 until 2026-11-29: a booking for "self" no longer reads the household for the form. 15
# until the staff check, 14 until the profile, were read with the user: portal/accounts/backends.py;
# 13 until the user was read with the session: portal/accounts/session_store.py.)
MAX_BOOKING_QUERIES = 12
# A slot read as full is answered before any transaction is opened and before the household is
# read for the form: session with its user and the staff check, slot with the resident's own
# booking.
MAX_FULL_QUERIES = 2


def post_booking(client, slot):
    return client.post(reverse("booking:book", args=[slot.pk]), {"person": "self"})


def test_a_booking_request_stays_lean(
    resident_client, resident, slot, django_assert_max_num_queries
):
    with django_assert_max_num_queries(MAX_BOOKING_QUERIES):
        response = post_booking(resident_client, slot)
    appointment = Appointment.objects.get(resident=resident)
    assert response["Location"] == reverse("booking:appointment", args=[appointment.pk])
    message = Message.objects.get(user=resident, kind="booking.booked")
    assert message.attachments.count() == 2  # the .ics and the QR image
    assert Delivery.objects.filter(message=message, channel="email").exists()
    [change] = history.records(appointment)
    assert (change.step, change.from_state, change.to_state) == ("book", "", "booked")
    assert change.actor == resident and change.actor_kind == "resident"


def test_a_full_slot_is_answered_without_a_transaction(
    client, clinic, service, django_assert_max_num_queries
):
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9), capacity=1)
    rules.book(UserFactory(), slot.pk)
    late = UserFactory()
    client.force_login(late)
    with django_assert_max_num_queries(MAX_FULL_QUERIES) as captured:
        response = post_booking(client, slot)
    assert response.status_code == 302 and "/clinics/clinic/" in response["Location"]
    assert not any(
        q["sql"].startswith(("BEGIN", "SAVEPOINT", "UPDATE")) for q in captured.captured_queries
    )
    assert not Appointment.objects.filter(resident=late).exists()


def test_losing_the_race_for_the_last_place_leaves_nothing_behind(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10), capacity=1)
    # Read while the place was free, as a request does before another booker commits.
    stale = Slot.objects.select_related("clinic", "service", "practitioner").get(pk=slot.pk)
    rules.book(UserFactory(), slot.pk)
    loser = UserFactory()

    with pytest.raises(errors.SlotFull):
        rules.book(loser, stale)

    # The appointment and the confirmation written before the place was refused are gone.
    assert not Appointment.objects.filter(resident=loser).exists()
    assert not Message.objects.filter(user=loser).exists()
    assert not StateChange.objects.filter(actor=loser).exists()
    slot.refresh_from_db()
    assert slot.booked == 1


def test_a_check_in_code_collision_retries_the_whole_attempt(clinic, service, monkeypatch):
    """Without a savepoint around the INSERT, a refused one rolls the attempt back: the
    booking is made again with a new code, leaving one appointment, message and history."""
    from health.booking import places

    taken = rules.book(UserFactory(), SlotFactory(clinic=clinic, service=service).pk)
    codes = iter([taken.check_in_code, "NEWCODE2"])
    monkeypatch.setattr(places, "new_check_in_code", lambda: next(codes))
    resident = UserFactory()

    appointment = rules.book(resident, SlotFactory(clinic=clinic, service=service, capacity=1).pk)

    assert appointment.check_in_code == "NEWCODE2"
    assert Appointment.objects.filter(resident=resident).count() == 1
    assert Message.objects.filter(user=resident).count() == 1
    assert StateChange.objects.filter(actor=resident).count() == 1
    assert Slot.objects.get(pk=appointment.slot_id).booked == 1


def test_losing_to_a_closure_says_closed(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11), capacity=2)
    stale = Slot.objects.select_related("clinic", "service", "practitioner").get(pk=slot.pk)
    schedules.close_slot(slot, reason="Outage")
    resident = UserFactory()

    with pytest.raises(errors.SlotClosed):
        rules.book(resident, stale)
    assert not Appointment.objects.filter(resident=resident).exists()


def test_the_confirmation_reads_its_date_in_the_residents_language(clinic, service):
    from django.utils import timezone

    from tests.factories import UserFactory as Factory

    resident = Factory()
    resident.profile.preferred_language = "zh-hant"
    resident.profile.save()
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9, 30))
    rules.book(resident, slot.pk)
    message = Message.objects.get(user=resident, kind="booking.booked")
    day = timezone.localtime(slot.start)
    assert f"{day.year}年{day.month}月{day.day}日 09:30" in message.subject
    assert "（星期" in message.body and "月" in message.body


def test_a_booking_for_a_dependant_reads_the_household_and_refuses_anothers(
    resident_client, resident, slot
):
    child = DependantFactory(owner=resident, name="Little Chan")
    stranger = DependantFactory(name="Not Yours")
    response = post_person(resident_client, slot, str(stranger.pk))
    assert response.status_code == 200  # the form again, with its error
    assert not Appointment.objects.exists()
    assert "Little Chan" in response.content.decode()  # the household is offered
    post_person(resident_client, slot, str(child.pk))
    assert Appointment.objects.get(resident=resident).dependant == child


def post_person(client, slot, person):
    return client.post(reverse("booking:book", args=[slot.pk]), {"person": person})


@pytest.mark.parametrize("person", ["²", "١٢", "0" * 40, "self\x00", ""])
def test_a_malformed_person_is_refused_with_the_form_not_a_server_error(
    resident_client, slot, person
):
    # "²" passes str.isdigit() but not int(); the form answers every such value itself.
    response = post_person(resident_client, slot, person)
    assert response.status_code == 200
    assert not Appointment.objects.exists()
