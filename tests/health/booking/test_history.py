"""An appointment's history: every status change is a row of portal.workflow, which the
resident reads on the appointment's page and staff read in the admin, who did what included."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import rules, waitlists
from health.booking.models import Appointment, WaitlistEntry
from portal.workflow import history
from tests.factories import UserFactory

from .conftest import make_staff
from .factories import SlotFactory

pytestmark = pytest.mark.django_db


def steps(obj):
    return list(history.records(obj).values_list("step", flat=True))


def test_the_resident_reads_the_history_on_the_appointment_page(resident_client, resident, slot):
    appointment = rules.book(resident, slot.pk)
    resident_client.post(
        reverse("booking:cancel", args=[appointment.pk]), {"reason": "Feeling better"}
    )
    page = resident_client.get(reverse("booking:appointment", args=[appointment.pk]))
    html = page.content.decode()
    assert 'class="timeline"' in html
    assert html.index("Booked.") < html.index("You cancelled this appointment.")
    assert "Feeling better" in html


def test_a_moved_appointment_links_both_ways_and_says_it_was_moved(
    resident_client, resident, clinic, service
):
    first = rules.book(resident, SlotFactory(clinic=clinic, service=service).pk)
    later = SlotFactory(clinic=clinic, service=service, start=first.start + timedelta(hours=2))
    moved = rules.reschedule(first, later.pk)

    old_page = resident_client.get(reverse("booking:appointment", args=[first.pk]))
    new_page = resident_client.get(reverse("booking:appointment", args=[moved.pk]))
    assert reverse("booking:appointment", args=[moved.pk]) in old_page.content.decode()
    assert "You moved this appointment to another time." in old_page.content.decode()
    assert reverse("booking:appointment", args=[first.pk]) in new_page.content.decode()
    assert "you moved your appointment to this time" in new_page.content.decode()
    assert steps(first) == ["book", "reschedule"] and steps(moved) == ["rebook"]


def test_day_list_actions_record_the_staff_member_and_staff_read_them(
    nurse_client, nurse, clinic, service
):
    slot = SlotFactory(clinic=clinic, service=service, start=timezone.now() + timedelta(minutes=5))
    appointment = rules.book(UserFactory(), slot.pk)
    response = nurse_client.post(
        reverse("booking_day_list"),
        {"clinic": clinic.pk, "action": "check_in", "code": appointment.check_in_code},
    )
    assert response.status_code == 302
    change = history.records(appointment).last()
    assert (change.step, change.actor, change.actor_kind) == ("check_in", nurse, "staff")

    day = nurse_client.get(reverse("booking_day_list"), {"clinic": clinic.pk})
    url = reverse("booking_appointment", args=[appointment.pk])
    assert url in day.content.decode()
    page = nurse_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Booked by the resident" in html and "Checked in at the clinic" in html
    assert nurse.email in html


def test_another_clinics_appointment_history_is_not_found(nurse_client, other_clinic, service):
    foreign = rules.book(UserFactory(), SlotFactory(clinic=other_clinic, service=service).pk)
    for pk in (foreign.pk, "abc", "9" * 30):
        assert nurse_client.get(reverse("booking_appointment", args=[pk])).status_code == 404


def test_residents_cannot_open_the_staff_history(resident_client, resident, slot):
    appointment = rules.book(resident, slot.pk)
    response = resident_client.get(reverse("booking_appointment", args=[appointment.pk]))
    assert response.status_code in (302, 403)


def test_waitlist_offers_and_acceptance_have_their_history(full_slot):
    waiting = UserFactory()
    entry = waitlists.join_waitlist(waiting, full_slot.pk)
    holder = Appointment.objects.get(slot=full_slot)
    rules.cancel(holder, by=holder.resident)
    appointment = waitlists.accept_offer(waiting, entry.pk)

    assert steps(WaitlistEntry.objects.get(pk=entry.pk)) == ["join", "offer", "accept"]
    assert steps(appointment) == ["accept_offer"]
    offer = history.records(entry).get(step="offer")
    assert offer.actor is None and offer.actor_kind == "system"


def test_a_closure_records_the_staff_member_for_appointments_and_the_waitlist(full_slot, clinic):
    from health.booking import schedules

    nurse = make_staff(clinic)
    entry = waitlists.join_waitlist(UserFactory(), full_slot.pk)
    holder = Appointment.objects.get(slot=full_slot)
    schedules.close_slot(full_slot, reason="Power cut", by=nurse)

    close = history.records(holder).last()
    assert (close.step, close.actor, close.actor_kind, close.reason) == (
        "close",
        nurse,
        "staff",
        "Power cut",
    )
    ended = history.records(entry).last()
    assert (ended.step, ended.actor, ended.actor_kind) == ("slot_closed", nurse, "system")
