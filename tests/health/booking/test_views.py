"""The resident's pages: the booking flow, changes, household, waitlist and bad input."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.booking import errors, rules, schedules, waitlists
from health.booking.models import Appointment, AppointmentStatus, Dependant, Slot, WaitlistEntry
from tests.factories import UserFactory

from .factories import AppointmentFactory, DependantFactory, SlotFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_pages_need_login(client, slot):
    for url in [
        reverse("booking:index"),
        reverse("booking:appointments"),
        reverse("booking:book", args=[slot.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_flow_from_service_to_confirmation(resident_client, resident, slot, service, clinic):
    response = resident_client.get(reverse("booking:index"))
    assert reverse("booking:clinics", args=[service.code]) in response.content.decode()

    response = resident_client.get(reverse("booking:clinics", args=[service.code]))
    assert clinic.name in response.content.decode()
    days_url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
    assert days_url in response.content.decode()

    response = resident_client.get(f"{days_url}?day={timezone.localdate(slot.start).isoformat()}")
    assert reverse("booking:book", args=[slot.pk]) in response.content.decode()

    response = resident_client.get(reverse("booking:book", args=[slot.pk]))
    assert response.status_code == 200
    assert "Confirm" in response.content.decode() or "確認" in response.content.decode()

    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    appointment = Appointment.objects.get(resident=resident)
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[appointment.pk])
    page = response.content.decode()
    assert appointment.check_in_code in page
    assert "<svg" in page  # the QR image, inline
    assert reverse("booking:appointment_ics", args=[appointment.pk]) in page


def test_book_for_a_dependant(resident_client, resident, slot):
    child = DependantFactory(owner=resident, name="Little Chan")
    resident_client.post(reverse("booking:book", args=[slot.pk]), {"person": str(child.pk)})
    appointment = Appointment.objects.get(resident=resident)
    assert appointment.dependant == child
    response = resident_client.get(reverse("booking:appointment", args=[appointment.pk]))
    assert "Little Chan" in response.content.decode()


def test_tampered_dependant_id_is_a_form_error(resident_client, resident, slot):
    stranger_child = DependantFactory()
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": str(stranger_child.pk)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("slot_id", [0, 99999999])
def test_unknown_slot_is_a_message_not_an_error(resident_client, slot_id):
    response = resident_client.post(
        reverse("booking:book", args=[slot_id]), {"person": "self"}, follow=True
    )
    assert response.status_code == 200
    assert any("not available" in m for m in messages_of(response))
    assert not Appointment.objects.exists()


def test_non_numeric_ids_are_404(resident_client):
    assert resident_client.get("/clinics/slot/abc/book/").status_code == 404
    assert resident_client.get("/clinics/appointments/1e3/").status_code == 404


def test_double_submit_shows_the_existing_booking(resident_client, resident, slot):
    url = reverse("booking:book", args=[slot.pk])
    resident_client.post(url, {"person": "self"})
    response = resident_client.post(url, {"person": "self"}, follow=True)
    appointment = Appointment.objects.get(resident=resident)
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[appointment.pk])
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_full_slot_says_so_and_offers_waitlist(resident_client, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    assert any("fully booked" in m for m in messages_of(response))
    assert reverse("booking:waitlist_join", args=[slot.pk]) in response.content.decode()


def test_past_slot_says_so(resident_client, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, start=timezone.now() - timedelta(hours=1))
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    assert any("already passed" in m for m in messages_of(response))
    assert not Appointment.objects.exists()


def test_closed_slot_says_so(resident_client, slot):
    schedules.close_slot(slot, reason="Staff training")
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    assert any("closed" in m for m in messages_of(response))


def test_beyond_horizon_says_so(resident_client, clinic, service, settings):
    settings.BOOKING_HORIZON_DAYS = 3
    slot = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10) + timedelta(days=5))
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    assert any("3 days ahead" in m for m in messages_of(response))


def test_day_outside_window_falls_back_with_a_message(resident_client, clinic, service, slot):
    url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
    for day in ["2001-01-01", "not-a-date", "2999-12-31"]:
        response = resident_client.get(f"{url}?day={day}")
        assert response.status_code == 200
    assert response.context["day"] == timezone.localdate(slot.start)


def test_unknown_service_or_clinic_is_404(resident_client, clinic, service):
    assert resident_client.get(reverse("booking:clinics", args=["nope"])).status_code == 404
    url = reverse("booking:clinic_days", args=[clinic.pk + 1000, service.code])
    assert resident_client.get(url).status_code == 404


def test_another_residents_appointment_is_404_everywhere(resident_client, slot):
    theirs = rules.book(UserFactory(), slot.pk)
    for name in ["appointment", "appointment_ics", "cancel", "reschedule"]:
        url = reverse(f"booking:{name}", args=[theirs.pk])
        assert resident_client.get(url).status_code == 404
        assert resident_client.post(url, {"slot": slot.pk}).status_code == 404
    assert Appointment.objects.get(pk=theirs.pk).status == AppointmentStatus.BOOKED


def test_ics_download(resident_client, resident, slot):
    appointment = rules.book(resident, slot.pk)
    response = resident_client.get(reverse("booking:appointment_ics", args=[appointment.pk]))
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment;" in response["Content-Disposition"]
    assert b"\r\nUID:appointment-" in response.content


def test_cancel_then_rebook(resident_client, resident, slot):
    appointment = rules.book(resident, slot.pk)
    cancel_url = reverse("booking:cancel", args=[appointment.pk])
    assert resident_client.get(cancel_url).status_code == 200
    response = resident_client.post(cancel_url, {"reason": "Better"}, follow=True)
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED
    assert any("cancelled" in m for m in messages_of(response))
    # Cancelling again is a message, not a change or an error.
    response = resident_client.post(cancel_url, {}, follow=True)
    assert response.status_code == 200
    resident_client.post(reverse("booking:book", args=[slot.pk]), {"person": "self"})
    assert Appointment.objects.filter(resident=resident, status="booked").count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_cancel_after_cutoff_is_refused_with_phone(resident_client, resident, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, start=timezone.now() + timedelta(minutes=90))
    appointment = rules.book(resident, slot.pk)
    page = resident_client.get(reverse("booking:appointment", args=[appointment.pk]))
    assert reverse("booking:cancel", args=[appointment.pk]) not in page.content.decode()
    response = resident_client.post(
        reverse("booking:cancel", args=[appointment.pk]), {}, follow=True
    )
    assert any(clinic.phone in m for m in messages_of(response))
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_reschedule_page_and_post(resident_client, resident, clinic, service):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    appointment = rules.book(resident, old.pk)
    url = reverse("booking:reschedule", args=[appointment.pk])
    page = resident_client.get(f"{url}?day={timezone.localdate(new.start).isoformat()}")
    assert f'value="{new.pk}"' in page.content.decode()

    response = resident_client.post(url, {"slot": new.pk}, follow=True)
    moved = Appointment.objects.get(resident=resident, status=AppointmentStatus.BOOKED)
    assert moved.slot == new
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[moved.pk])

    # Tampered slot value: a message, nothing changes.
    response = resident_client.post(
        reverse("booking:reschedule", args=[moved.pk]), {"slot": "x"}, follow=True
    )
    assert any("not available" in m for m in messages_of(response))
    assert Appointment.objects.get(pk=moved.pk).status == AppointmentStatus.BOOKED


def test_appointments_page_upcoming_and_past(resident_client, resident, clinic, service):
    upcoming = rules.book(resident, SlotFactory(clinic=clinic, service=service).pk)
    past_slot = SlotFactory(
        clinic=clinic, service=service, start=timezone.now() - timedelta(days=3)
    )
    past = AppointmentFactory(slot=past_slot, resident=resident, status=AppointmentStatus.COMPLETED)
    response = resident_client.get(reverse("booking:appointments"))
    assert list(response.context["upcoming"]) == [upcoming]
    assert list(response.context["past"]) == [past]


def test_household_add_and_remove(resident_client, resident):
    url = reverse("booking:dependants")
    response = resident_client.post(
        url, {"name": "Grandma Lee", "date_of_birth": "1940-02-03", "relationship": "parent"}
    )
    assert response.status_code == 302
    dependant = Dependant.objects.get(owner=resident)
    bad = resident_client.post(
        url, {"name": "", "date_of_birth": "2999-01-01", "relationship": "x"}
    )
    assert bad.status_code == 200 and len(bad.context["form"].errors) == 3
    other = DependantFactory()
    remove = "booking:dependant_remove"
    assert resident_client.post(reverse(remove, args=[other.pk])).status_code == 404
    resident_client.post(reverse(remove, args=[dependant.pk]))
    assert not Dependant.objects.get(pk=dependant.pk).is_active


def test_waitlist_join_offer_accept_via_pages(client, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    holder = UserFactory()
    appointment = rules.book(holder, slot.pk)
    waiting = UserFactory()
    client.force_login(waiting)
    response = client.post(reverse("booking:waitlist_join", args=[slot.pk]), {"person": "self"})
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(resident=waiting)

    rules.cancel(appointment, by=holder)
    page = client.get(reverse("booking:waitlist"))
    assert reverse("booking:waitlist_accept", args=[entry.pk]) in page.content.decode()
    response = client.post(reverse("booking:waitlist_accept", args=[entry.pk]), follow=True)
    booked = Appointment.objects.get(resident=waiting)
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[booked.pk])
    # Accepting twice is a message, not a second booking.
    response = client.post(reverse("booking:waitlist_accept", args=[entry.pk]), follow=True)
    assert any("expired or was already answered" in m for m in messages_of(response))
    assert Appointment.objects.filter(resident=waiting).count() == 1


def test_someone_elses_waitlist_entry_is_404(resident_client, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    entry = waitlists.join_waitlist(UserFactory(), slot.pk)
    for name in ["waitlist_accept", "waitlist_leave"]:
        assert resident_client.post(reverse(f"booking:{name}", args=[entry.pk])).status_code == 404
    assert (
        resident_client.get(reverse("booking:waitlist_accept", args=[entry.pk])).status_code == 405
    )


def test_mypage_panel_is_bounded(
    resident_client, resident, clinic, service, django_assert_max_num_queries
):
    from django.test import RequestFactory

    from health.booking.panels import NextAppointmentsPanel

    for hour in range(8, 12):
        rules.book(
            resident, SlotFactory(clinic=clinic, service=service, start=tomorrow_at(hour)).pk
        )
    request = RequestFactory().get("/me/")
    request.user = resident
    panel = NextAppointmentsPanel()
    with django_assert_max_num_queries(3):
        html = panel.render(request)
    assert html.count("appointment-list__item") == 3
    response = resident_client.get(reverse("mypage:index"))
    assert "panel-appointments" in response.content.decode()


def test_day_shows_my_own_booking_and_pages_by_two_weeks(
    resident_client, resident, clinic, service
):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    appointment = rules.book(resident, slot.pk)
    url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
    response = resident_client.get(f"{url}?day={timezone.localdate(slot.start).isoformat()}")
    page = response.content.decode()
    assert reverse("booking:appointment", args=[appointment.pk]) in page
    assert reverse("booking:waitlist_join", args=[slot.pk]) not in page
    weeks = response.context["weeks"]
    assert len(weeks) == 2 and all(len(week) == 7 for week in weeks)
    assert weeks[0][0][0].weekday() == 0  # calendar columns are Monday to Sunday
    assert response.context["later_day"] is not None


def test_huge_ids_are_404_not_overflow(resident_client):
    huge = "9" * 30
    for path in [
        f"/clinics/slot/{huge}/book/",
        f"/clinics/appointments/{huge}/",
        f"/clinics/clinic/{huge}/x/",
    ]:
        assert resident_client.get(path).status_code == 404
    big_but_valid = "9" * 18
    response = resident_client.get(f"/clinics/slot/{big_but_valid}/book/", follow=True)
    assert response.status_code == 200


def test_double_submit_on_the_last_place_shows_the_booking(
    resident_client, resident, clinic, service
):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    url = reverse("booking:book", args=[slot.pk])
    resident_client.post(url, {"person": "self"})
    response = resident_client.post(url, {"person": "self"}, follow=True)
    appointment = Appointment.objects.get(resident=resident)
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[appointment.pk])
    assert any("already booked" in m for m in messages_of(response))
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_double_submit_for_a_child_on_the_last_place_shows_the_childs_booking(
    resident_client, resident, clinic, service
):
    child = DependantFactory(owner=resident, name="Little Chan")
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    url = reverse("booking:book", args=[slot.pk])
    resident_client.post(url, {"person": str(child.pk)})
    response = resident_client.post(url, {"person": str(child.pk)}, follow=True)
    appointment = Appointment.objects.get(resident=resident, dependant=child)
    assert response.redirect_chain[-1][0] == reverse("booking:appointment", args=[appointment.pk])
    assert any("already booked" in m for m in messages_of(response))
    # The resident's own attempt at the same full slot is told it is full, not shown the child's.
    response = resident_client.post(url, {"person": "self"}, follow=True)
    assert "/clinics/clinic/" in response.redirect_chain[-1][0]
    assert any("fully booked" in m for m in messages_of(response))


def test_another_households_child_id_on_a_full_slot_reveals_nothing(
    resident_client, clinic, service
):
    parent = UserFactory()
    child = DependantFactory(owner=parent, name="Their Child")
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(parent, slot.pk, dependant=child)
    url = reverse("booking:book", args=[slot.pk])
    response = resident_client.post(url, {"person": str(child.pk)}, follow=True)
    assert "/clinics/clinic/" in response.redirect_chain[-1][0]  # full, not their booking
    assert any("fully booked" in m for m in messages_of(response))


@pytest.mark.parametrize("person", ["", "someone", "-1", "9" * 40, "1 OR 1=1"])
def test_a_tampered_person_on_a_full_slot_is_told_it_is_full(
    resident_client, resident, clinic, service, person
):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": person}, follow=True
    )
    assert response.status_code == 200
    assert any("fully booked" in m for m in messages_of(response))
    assert not Appointment.objects.filter(resident=resident).exists()


def test_a_full_slot_that_has_started_says_so_rather_than_full(resident_client, clinic, service):
    start = timezone.now() - timedelta(minutes=5)
    slot = SlotFactory(
        clinic=clinic, service=service, start=start, end=start + timedelta(minutes=15), capacity=1
    )
    Slot.objects.filter(pk=slot.pk).update(booked=1)
    response = resident_client.post(
        reverse("booking:book", args=[slot.pk]), {"person": "self"}, follow=True
    )
    [message] = messages_of(response)
    assert "fully booked" not in message
    assert str(errors.SlotInPast()) == message


def test_get_of_a_full_slot_goes_back_to_the_times(resident_client, clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    rules.book(UserFactory(), slot.pk)
    response = resident_client.get(reverse("booking:book", args=[slot.pk]), follow=True)
    assert any("fully booked" in m for m in messages_of(response))


def test_reschedule_to_another_clinic_is_refused_via_the_page(
    resident_client, resident, clinic, service
):
    from .factories import ClinicFactory

    elsewhere = ClinicFactory(services=[service])
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    other = SlotFactory(clinic=elsewhere, service=service, start=tomorrow_at(11))
    appointment = rules.book(resident, old.pk)
    url = reverse("booking:reschedule", args=[appointment.pk])

    response = resident_client.post(url, {"slot": other.pk}, follow=True)

    assert response.redirect_chain[-1][0] == url
    assert any("same clinic" in m for m in messages_of(response))
    assert Appointment.objects.get(resident=resident).pk == appointment.pk
    assert Appointment.objects.get(pk=appointment.pk).slot == old
    assert Slot.objects.get(pk=other.pk).booked == 0


HOUSEHOLD = {"name": "Grandma Lee", "date_of_birth": "1940-02-03", "relationship": "parent"}


def test_household_double_submit_adds_one_dependant(resident_client, resident):
    url = reverse("booking:dependants")
    first = resident_client.post(url, HOUSEHOLD)
    second = resident_client.post(url, HOUSEHOLD, follow=True)

    assert first.status_code == 302
    assert second.redirect_chain[-1][0] == url
    assert Dependant.objects.filter(owner=resident).count() == 1
    assert any("already in your household" in m for m in messages_of(second))
    # Someone else's household, or a removed dependant, does not count.
    other = UserFactory()
    DependantFactory(owner=other, name="Grandma Lee", date_of_birth=timezone.datetime(1940, 2, 3))
    Dependant.objects.filter(owner=resident).update(is_active=False)
    assert resident_client.post(url, HOUSEHOLD).status_code == 302
    assert Dependant.objects.filter(owner=resident, is_active=True).count() == 1
    assert Dependant.objects.filter(owner=resident).count() == 2


def test_household_double_submit_race_is_a_message_not_a_500(
    resident_client, resident, monkeypatch
):
    from health.booking import views

    url = reverse("booking:dependants")
    assert resident_client.post(url, HOUSEHOLD).status_code == 302
    # The other request's row lands between this request's check and its INSERT.
    monkeypatch.setattr(views, "_same_dependant", lambda user, name, date_of_birth: None)

    response = resident_client.post(url, HOUSEHOLD, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == url
    assert any("already in your household" in m for m in messages_of(response))
    assert Dependant.objects.filter(owner=resident).count() == 1


def test_the_database_refuses_a_duplicate_active_dependant(resident):
    from django.db import IntegrityError, transaction

    first = DependantFactory(owner=resident)
    with pytest.raises(IntegrityError), transaction.atomic():
        DependantFactory(owner=resident, name=first.name, date_of_birth=first.date_of_birth)


@pytest.mark.parametrize(
    "name", ["Chan Tai \ufffd Man", "Chan\x00Tai Man", "Chan\x07Tai", "Chan\nTai", "Chan\x1bTai"]
)
def test_household_name_with_unreadable_characters_is_refused(resident_client, resident, name):
    response = resident_client.post(reverse("booking:dependants"), {**HOUSEHOLD, "name": name})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Dependant.objects.filter(owner=resident).exists()


def test_dependant_form_names():
    from health.booking.forms import DependantForm

    def errors(name):
        form = DependantForm({**HOUSEHOLD, "name": name})
        form.is_valid()
        return form.errors.get("name")

    assert errors("Chan Tai-man") is None
    assert errors("陳大文") is None
    assert errors("O’Brien Zoë") is None
    assert "cannot be read" in errors("Chan \ufffd")[0]
    assert "cannot be read" in errors("Chan\x7fTai")[0]
