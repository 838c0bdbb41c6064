"""The booking rules in health/booking/services.py."""

from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation

import pytest

from health.booking import services
from health.booking.models import (
    Appointment,
    AppointmentStatus,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from portal.notifications.models import Message, MessageAttachment
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    ClosureFactory,
    DependantFactory,
    ScheduleRuleFactory,
    SlotFactory,
    local,
    tomorrow_at,
)

DAY = timedelta(days=1)

pytestmark = pytest.mark.django_db


def fresh(obj):
    obj.refresh_from_db()
    return obj


# Booking ----------------------------------------------------------------------------------------
def test_book_takes_a_place_and_sends_confirmation_with_ics(slot, resident, outbox):
    appointment = services.book(resident, slot.pk)

    assert appointment.status == AppointmentStatus.BOOKED
    assert (appointment.start, appointment.end) == (slot.start, slot.end)
    assert len(appointment.check_in_code) == 8
    assert fresh(slot).booked == 1
    [message] = outbox(resident)
    assert message.url == f"/clinics/appointments/{appointment.pk}/"
    assert appointment.check_in_code in message.body
    attachment, qr = MessageAttachment.objects.filter(message=message).order_by("pk")
    assert qr.filename == "check-in-code.png" and bytes(qr.content).startswith(b"\x89PNG")
    assert attachment.filename.endswith(".ics")
    assert attachment.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in bytes(attachment.content)
    # Confirmations are transactional: e-mail is forced even if the resident turned it off.
    assert set(message.deliveries.values_list("channel", flat=True)) == {"email"}


def test_confirmation_is_in_the_residents_language(slot, resident, outbox):
    resident.profile.preferred_language = "en"
    resident.profile.save()
    with translation.override("zh-hant"):
        services.book(resident, slot.pk)
    [message] = outbox(resident)
    assert message.language == "en"
    assert "Clinic appointment booked" in message.subject


def test_full_slot_is_refused_and_nothing_changes(slot, outbox):
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    services.book(first, slot.pk)
    services.book(second, slot.pk)

    with pytest.raises(services.SlotFull) as error:
        services.book(third, slot.pk)

    assert "fully booked" in str(error.value)
    assert fresh(slot).booked == 2
    assert not Appointment.objects.filter(resident=third).exists()
    assert outbox(third) == []


def test_closed_slot_is_refused(slot, resident):
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.CLOSED)
    with pytest.raises(services.SlotClosed):
        services.book(resident, slot.pk)
    assert fresh(slot).booked == 0


@pytest.mark.parametrize("slot_id", [None, "", "abc", "1; DROP TABLE", -1, 10**12])
def test_tampered_slot_ids_are_a_clear_not_found(resident, slot_id):
    with pytest.raises(services.SlotNotFound):
        services.book(resident, slot_id)


def test_past_slot_is_refused(clinic, service, resident):
    past = SlotFactory(clinic=clinic, service=service, start=timezone.now() - timedelta(minutes=5))
    with pytest.raises(services.SlotInPast):
        services.book(resident, past.pk)


def test_booking_horizon_edge(clinic, service, resident, settings):
    settings.BOOKING_HORIZON_DAYS = 10
    now = timezone.now()
    last_day = timezone.localdate(now) + timedelta(days=10)
    edge = SlotFactory(clinic=clinic, service=service, start=local(last_day, 23, 45))
    beyond = SlotFactory(
        clinic=clinic, service=service, start=local(last_day + timedelta(days=1), 0, 0)
    )

    assert services.book(resident, edge.pk, now=now).slot_id == edge.pk
    with pytest.raises(services.BeyondHorizon) as error:
        services.book(resident, beyond.pk, now=now)
    assert "10 days" in str(error.value)


def test_midnight_slot_belongs_to_its_own_day(clinic, service, resident):
    day = timezone.localdate() + timedelta(days=2)
    midnight = SlotFactory(clinic=clinic, service=service, start=local(day, 0, 0))
    late = SlotFactory(clinic=clinic, service=service, start=local(day - timedelta(days=1), 23, 45))

    assert [s.pk for s in services.day_slots(clinic, service, day)] == [midnight.pk]
    days = dict(services.bookable_days(clinic, service))
    assert days[day] == 1 and days[day - timedelta(days=1)] == 1
    # 23:45-00:00 and 00:00-00:15 touch but do not overlap: both can be booked.
    services.book(resident, late.pk)
    services.book(resident, midnight.pk)


def test_same_person_cannot_overlap(clinic, service, resident):
    first = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    overlapping = SlotFactory(
        clinic=clinic, service=service, start=tomorrow_at(10, 10), end=tomorrow_at(10, 40)
    )
    services.book(resident, first.pk)
    with pytest.raises(services.Overlapping):
        services.book(resident, overlapping.pk)
    assert fresh(overlapping).booked == 0


def test_double_booking_the_same_slot_is_an_overlap(slot, resident):
    services.book(resident, slot.pk)
    with pytest.raises(services.Overlapping):
        services.book(resident, slot.pk)
    assert fresh(slot).booked == 1


def test_dependant_and_resident_may_book_the_same_time(slot, resident):
    child = DependantFactory(owner=resident)
    mine = services.book(resident, slot.pk)
    theirs = services.book(resident, slot.pk, dependant=child)
    assert theirs.dependant == child and mine.dependant is None
    assert theirs.patient_name == child.name
    assert fresh(slot).booked == 2


def test_someone_elses_dependant_is_refused(slot, resident):
    stranger_child = DependantFactory()
    with pytest.raises(services.DependantNotFound):
        services.book(resident, slot.pk, dependant=stranger_child)
    assert fresh(slot).booked == 0


def test_upcoming_limit_per_person(clinic, service, resident, settings):
    settings.BOOKING_MAX_UPCOMING = 2
    slots = [
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9 + i)) for i in range(3)
    ]
    services.book(resident, slots[0].pk)
    services.book(resident, slots[1].pk)
    with pytest.raises(services.TooManyUpcoming) as error:
        services.book(resident, slots[2].pk)
    assert "2 upcoming" in str(error.value)
    # The limit is per person: a child still has their own allowance.
    child = DependantFactory(owner=resident)
    services.book(resident, slots[2].pk, dependant=child)


def test_capacity_check_constraint_is_in_the_database(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=F("capacity") + 1)


def test_held_places_count_against_capacity_in_the_database(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2, held=1)


# Cancel and reschedule --------------------------------------------------------------------------
def test_cancel_frees_the_place_and_it_can_be_rebooked(slot, resident, outbox):
    appointment = services.book(resident, slot.pk)
    services.cancel(appointment, by=resident, reason="Feeling better")

    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    assert fresh(appointment).cancel_reason == "Feeling better"
    assert fresh(slot).booked == 0
    cancelled_message = outbox(resident)[-1]
    ics = bytes(MessageAttachment.objects.get(message=cancelled_message).content)
    assert b"METHOD:CANCEL" in ics and b"STATUS:CANCELLED" in ics

    again = services.book(resident, slot.pk)
    assert again.pk != appointment.pk and fresh(slot).booked == 1


def test_cancel_twice_is_refused(slot, resident):
    appointment = services.book(resident, slot.pk)
    services.cancel(appointment, by=resident)
    with pytest.raises(services.NotActive):
        services.cancel(fresh(appointment), by=resident)
    assert fresh(slot).booked == 0


def test_cancel_after_cutoff_is_refused(slot, resident):
    appointment = services.book(resident, slot.pk)
    late = slot.start - timedelta(hours=1)
    with pytest.raises(services.CutoffPassed) as error:
        services.cancel(appointment, by=resident, now=late)
    assert slot.clinic.phone in str(error.value)
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    # Staff may still cancel.
    services.cancel(appointment, by=None, now=late, enforce_cutoff=False)
    assert fresh(appointment).status == AppointmentStatus.CANCELLED


def test_reschedule_moves_in_one_step(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    appointment = services.book(resident, old.pk)

    moved = services.reschedule(appointment, new.pk)

    assert moved.slot == new and moved.rescheduled_from == appointment
    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    assert (fresh(old).booked, fresh(new).booked) == (0, 1)


def test_reschedule_into_an_overlapping_slot_of_its_own_time_is_allowed(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    shifted = SlotFactory(
        clinic=clinic, service=service, start=tomorrow_at(10, 5), end=tomorrow_at(10, 20)
    )
    appointment = services.book(resident, old.pk)
    moved = services.reschedule(appointment, shifted.pk)
    assert moved.slot == shifted


def test_reschedule_to_a_full_slot_changes_nothing(clinic, service, resident):
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    full = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11), capacity=1)
    services.book(UserFactory(), full.pk)
    appointment = services.book(resident, old.pk)

    with pytest.raises(services.SlotFull):
        services.reschedule(appointment, full.pk)

    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(full).booked) == (1, 1)


def test_reschedule_rules(clinic, service, resident):
    from .factories import ServiceFactory

    other_service = ServiceFactory()
    clinic.services.add(other_service)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    other = SlotFactory(clinic=clinic, service=other_service, start=tomorrow_at(12))
    appointment = services.book(resident, old.pk)
    with pytest.raises(services.SameSlot):
        services.reschedule(appointment, old.pk)
    with pytest.raises(services.DifferentService):
        services.reschedule(appointment, other.pk)
    with pytest.raises(services.SlotNotFound):
        services.reschedule(appointment, "nonsense")
    with pytest.raises(services.CutoffPassed):
        services.reschedule(appointment, other.pk, now=old.start - timedelta(minutes=30))


# Waitlist ---------------------------------------------------------------------------------------
@pytest.fixture
def full_slot(clinic, service):
    # Two days ahead: an offer's 12 hours to accept always end before the slot starts.
    slot = SlotFactory(clinic=clinic, service=service, capacity=1, start=tomorrow_at(10) + DAY)
    holder = UserFactory()
    services.book(holder, slot.pk)
    return slot


def test_waitlist_only_for_full_slots(slot, resident):
    with pytest.raises(services.SlotNotFull):
        services.join_waitlist(resident, slot.pk)


def test_waitlist_join_once(full_slot, resident):
    services.join_waitlist(resident, full_slot.pk)
    with pytest.raises(services.AlreadyWaiting):
        services.join_waitlist(resident, full_slot.pk)
    assert WaitlistEntry.objects.filter(resident=resident).count() == 1


def test_cancellation_offers_the_place_to_the_first_in_line(full_slot, outbox):
    first, second = UserFactory(), UserFactory()
    services.join_waitlist(first, full_slot.pk)
    services.join_waitlist(second, full_slot.pk)
    holder_appointment = Appointment.objects.get(slot=full_slot)

    services.cancel(holder_appointment, by=holder_appointment.resident)

    entry = WaitlistEntry.objects.get(resident=first)
    assert entry.status == WaitlistStatus.OFFERED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.WAITING
    slot = fresh(full_slot)
    assert (slot.booked, slot.held) == (0, 1)
    # The held place is not up for grabs.
    with pytest.raises(services.SlotFull):
        services.book(UserFactory(), slot.pk)
    assert any(m.url == "/clinics/waitlist/" for m in outbox(first))

    appointment = services.accept_offer(first, entry.pk)
    assert appointment.slot_id == slot.pk
    slot = fresh(slot)
    assert (slot.booked, slot.held) == (1, 0)
    assert fresh(entry).status == WaitlistStatus.BOOKED


def test_expired_offer_passes_to_the_next(full_slot, outbox):
    first, second = UserFactory(), UserFactory()
    first_entry = services.join_waitlist(first, full_slot.pk)
    services.join_waitlist(second, full_slot.pk)
    now = timezone.now()
    services.cancel(Appointment.objects.get(slot=full_slot), by=None, now=now)

    later = now + timedelta(hours=13)
    assert services.expire_offers(now=later) == 1
    assert services.expire_offers(now=later) == 0  # running twice does nothing more

    assert fresh(first_entry).status == WaitlistStatus.EXPIRED
    second_entry = WaitlistEntry.objects.get(resident=second)
    assert second_entry.status == WaitlistStatus.OFFERED
    assert fresh(full_slot).held == 1
    with pytest.raises(services.OfferNotOpen):
        services.accept_offer(first, first_entry.pk, now=later)


def test_declining_an_offer_passes_it_on(full_slot):
    first, second = UserFactory(), UserFactory()
    first_entry = services.join_waitlist(first, full_slot.pk)
    services.join_waitlist(second, full_slot.pk)
    services.cancel(Appointment.objects.get(slot=full_slot), by=None)

    services.leave_waitlist(first, first_entry.pk)

    assert fresh(first_entry).status == WaitlistStatus.CANCELLED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.OFFERED
    assert fresh(full_slot).held == 1


def test_someone_elses_offer_cannot_be_accepted(full_slot, resident):
    entry = services.join_waitlist(UserFactory(), full_slot.pk)
    with pytest.raises(WaitlistEntry.DoesNotExist):
        services.accept_offer(resident, entry.pk)


def test_raising_capacity_offers_places(full_slot):
    waiting = services.join_waitlist(UserFactory(), full_slot.pk)
    services.set_slot_capacity(full_slot, 2)
    assert fresh(waiting).status == WaitlistStatus.OFFERED
    with pytest.raises(services.CapacityTooLow):
        services.set_slot_capacity(full_slot, 1)


# Closures and schedules -------------------------------------------------------------------------
def test_closing_a_slot_cancels_and_notifies_with_a_rebook_link(slot, outbox):
    resident = UserFactory()
    appointment = services.book(resident, slot.pk)

    cancelled = services.close_slot(slot, reason="Power cut")

    assert [a.pk for a in cancelled] == [appointment.pk]
    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    slot = fresh(slot)
    assert slot.status == SlotStatus.CLOSED and slot.booked == 0
    message = outbox(resident)[-1]
    assert "Power cut" in message.body
    assert message.url == f"/clinics/clinic/{slot.clinic_id}/{slot.service.code}/"
    with pytest.raises(services.SlotClosed):
        services.book(UserFactory(), slot.pk)


def test_closure_for_part_of_a_day(clinic, service):
    morning = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9))
    afternoon = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(15))
    booked = services.book(UserFactory(), morning.pk)
    closure = ClosureFactory(
        clinic=clinic,
        date=timezone.localdate() + timedelta(days=1),
        start_time=time(8),
        end_time=time(12),
    )

    services.apply_closure(closure)
    services.apply_closure(closure)  # idempotent

    assert fresh(morning).status == SlotStatus.CLOSED
    assert fresh(afternoon).status == SlotStatus.OPEN
    assert fresh(booked).status == AppointmentStatus.CANCELLED
    # Booked, then one cancellation: applying the closure twice told the resident once.
    assert Message.objects.filter(user=booked.resident).count() == 2


def _next_weekday(weekday):
    today = timezone.localdate()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def test_generate_slots_from_a_weekly_rule_is_idempotent(clinic, service):
    day = _next_weekday(2)
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, weekday=2, start_time=time(9), end_time=time(10), capacity=3
    )
    created = services.generate_slots(weeks=2)
    assert created >= 4
    assert services.generate_slots(weeks=2) == 0
    slots = Slot.objects.filter(rule=rule, start__date=day).order_by("start")
    assert [
        timezone.localtime(s.start).time() for s in slots if timezone.localdate(s.start) == day
    ] == [
        time(9),
        time(9, 15),
        time(9, 30),
        time(9, 45),
    ]
    assert {s.capacity for s in slots} == {3}


def test_generation_skips_closures(clinic, service):
    day = _next_weekday(3)
    ClosureFactory(clinic=clinic, date=day)
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=3)
    services.sync_rule_slots(rule, weeks=1)
    assert not [s for s in Slot.objects.filter(rule=rule) if timezone.localdate(s.start) == day]


def test_schedule_change_never_drops_a_booked_slot(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=_next_weekday(1).weekday())
    services.sync_rule_slots(rule, weeks=1)
    slots = list(Slot.objects.filter(rule=rule).order_by("start"))
    booked_slot = slots[0]
    appointment = services.book(UserFactory(), booked_slot.pk)

    rule.start_time, rule.end_time = time(14), time(15)
    rule.save()
    result = services.sync_rule_slots(rule, weeks=1)

    assert [s.pk for s in result["kept"]] == [booked_slot.pk]
    assert Slot.objects.filter(pk=booked_slot.pk).exists()
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert not Slot.objects.filter(pk__in=[s.pk for s in slots[1:]]).exists()
    assert result["created"] == 4


def test_lowering_rule_capacity_keeps_taken_places(clinic, service):
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, capacity=2, weekday=_next_weekday(4).weekday()
    )
    services.sync_rule_slots(rule, weeks=1)
    slot = Slot.objects.filter(rule=rule).order_by("start").first()
    services.book(UserFactory(), slot.pk)
    services.book(UserFactory(), slot.pk)
    rule.capacity = 1
    rule.save()
    services.sync_rule_slots(rule, weeks=1)
    assert fresh(slot).capacity == 2
    assert {s.capacity for s in Slot.objects.filter(rule=rule).exclude(pk=slot.pk)} == {1}


# Staff day --------------------------------------------------------------------------------------
def test_check_in_by_code_typed_loosely(clinic, service):
    # Midday: half an hour later is still today whenever the suite runs.
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    slot = SlotFactory(clinic=clinic, service=service, start=now + timedelta(minutes=30))
    appointment = AppointmentFactory(slot=slot)
    typed = f" {appointment.check_in_code[:4].lower()}-{appointment.check_in_code[4:]} "

    checked = services.check_in(clinic, typed, now=now)

    assert (
        checked.pk == appointment.pk and fresh(appointment).status == AppointmentStatus.CHECKED_IN
    )
    with pytest.raises(services.AlreadyCheckedIn):
        services.check_in(clinic, appointment.check_in_code, now=now)


def test_check_in_refuses_other_clinics_and_other_days(clinic, service):
    from .factories import ClinicFactory

    other_clinic = ClinicFactory(services=[service])
    now = timezone.now()
    today = AppointmentFactory(slot=SlotFactory(clinic=other_clinic, service=service, start=now))
    later = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(days=3))
    )
    with pytest.raises(services.CodeNotFound):
        services.check_in(clinic, today.check_in_code, now=now)
    with pytest.raises(services.WrongDay):
        services.check_in(clinic, later.check_in_code, now=now)
    with pytest.raises(services.CodeNotFound):
        services.check_in(clinic, "", now=now)


def test_no_show_and_completed(clinic, service):
    # Midday, so ten minutes earlier is the same day's list whenever the suite runs.
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    slot = SlotFactory(
        clinic=clinic, service=service, start=now - timedelta(minutes=10), capacity=3
    )
    absent, seen, future = AppointmentFactory(slot=slot), AppointmentFactory(slot=slot), None
    future = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(hours=1))
    )

    services.mark_no_show(absent, now=now)
    services.mark_completed(seen, now=now)

    assert fresh(absent).status == AppointmentStatus.NO_SHOW
    assert fresh(seen).status == AppointmentStatus.COMPLETED
    with pytest.raises(services.TooEarly):
        services.mark_no_show(future, now=now)
    with pytest.raises(services.InvalidTransition):
        services.mark_completed(fresh(absent), now=now)
    appointments, counts = services.day_list(clinic, timezone.localdate(now))
    assert counts[AppointmentStatus.NO_SHOW] == 1 and counts[AppointmentStatus.COMPLETED] == 1


# Reminders --------------------------------------------------------------------------------------
def test_reminders_are_sent_once_the_day_before(clinic, service, settings, outbox):
    settings.BOOKING_REMINDER_TIME = "18:00"
    today = timezone.localdate()
    tomorrow_slot = SlotFactory(
        clinic=clinic, service=service, start=local(today + timedelta(days=1), 0, 0), capacity=2
    )
    later_slot = SlotFactory(
        clinic=clinic, service=service, start=local(today + timedelta(days=2), 9)
    )
    due = AppointmentFactory(slot=tomorrow_slot, booked_at=local(today, 9))
    not_yet = AppointmentFactory(slot=later_slot, booked_at=local(today, 9))
    just_booked = AppointmentFactory(slot=tomorrow_slot, booked_at=local(today, 18, 5))

    assert services.send_reminders(now=local(today, 17, 59)) == 0
    assert services.send_reminders(now=local(today, 18, 0)) == 1
    assert services.send_reminders(now=local(today, 18, 15)) == 0  # ran twice: sent once

    assert fresh(due).reminder_sent_at is not None
    assert fresh(not_yet).reminder_sent_at is None
    assert fresh(just_booked).reminder_sent_at is None  # its confirmation is minutes old
    [reminder] = outbox(due.resident)
    assert due.check_in_code in reminder.body


def test_cancelled_appointments_get_no_reminder(clinic, service):
    today = timezone.localdate()
    slot = SlotFactory(clinic=clinic, service=service, start=local(today + timedelta(days=1), 9))
    appointment = AppointmentFactory(slot=slot, status=AppointmentStatus.CANCELLED)
    assert services.send_reminders(now=local(today, 20)) == 0
    assert fresh(appointment).reminder_sent_at is None


# Finding clinics --------------------------------------------------------------------------------
def test_clinics_ordered_by_distance_then_next_free(
    service, resident, django_assert_max_num_queries
):
    from tests.factories import CommunityFactory, StreetFactory

    from .factories import ClinicFactory

    home = CommunityFactory(latitude="22.300000", longitude="114.170000")
    resident.profile.street = StreetFactory(community=home)
    resident.profile.save()
    near = ClinicFactory(services=[service], latitude="22.301000", longitude="114.170000")
    far = ClinicFactory(services=[service], latitude="22.400000", longitude="114.170000")
    SlotFactory(clinic=near, service=service, start=tomorrow_at(15))
    SlotFactory(clinic=far, service=service, start=tomorrow_at(9))
    resident = UserFactory._meta.model.objects.select_related("profile__street__community").get(
        pk=resident.pk
    )

    with django_assert_max_num_queries(2):
        by_distance = services.clinics_for_service(service, resident)
    assert [r["clinic"] for r in by_distance] == [near, far]
    assert by_distance[0]["distance_km"] == pytest.approx(0.11, abs=0.01)
    soonest = services.clinics_for_service(service, resident, order="soonest")
    assert [r["clinic"] for r in soonest] == [far, near]


def test_deleting_an_account_gives_its_places_back(clinic, service):
    slot = SlotFactory(clinic=clinic, service=service, capacity=1)
    leaving = UserFactory()
    child = DependantFactory(owner=leaving)
    services.book(leaving, slot.pk, dependant=child)
    other = SlotFactory(clinic=clinic, service=service, capacity=1, start=tomorrow_at(14))
    services.book(UserFactory(), other.pk)
    services.join_waitlist(leaving, other.pk)
    waiting = services.join_waitlist(UserFactory(), slot.pk)

    leaving.delete()

    assert fresh(slot).booked == 0 and fresh(slot).held == 1
    assert fresh(waiting).status == WaitlistStatus.OFFERED
    assert not Appointment.objects.filter(resident_id=leaving.pk).exists()


def test_export_holds_the_residents_booking_data_only(slot, resident):
    import json

    child = DependantFactory(owner=resident, name="Ming")
    services.book(resident, slot.pk, dependant=child)
    services.book(UserFactory(), slot.pk)
    data = services.export_resident_data(resident)
    json.dumps(data)
    assert [d["name"] for d in data["household"]] == ["Ming"]
    assert len(data["appointments"]) == 1 and data["appointments"][0]["for"] == "Ming"


def test_messages_follow_each_recipients_language(slot):
    """A confirmation is written in the recipient's language, whatever language is active."""
    chinese, english = UserFactory(), UserFactory()
    english.profile.preferred_language = "en"
    english.profile.save()
    chinese.profile.preferred_language = "zh-hant"
    chinese.profile.save()
    services.book(chinese, slot.pk)
    services.book(english, slot.pk)
    zh = Message.objects.get(user=chinese)
    en = Message.objects.get(user=english)
    assert en.subject.startswith("Clinic appointment booked")
    with translation.override("zh-hant"):
        expected = translation.gettext("Clinic appointment booked: %(date)s").split("%")[0]
    assert zh.language == "zh-hant" and zh.subject.startswith(expected)


def test_waitlist_places_per_person_are_limited(clinic, service, resident, settings):
    settings.BOOKING_MAX_UPCOMING = 2
    slots = [
        SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9 + i)) for i in range(3)
    ]
    for slot in slots:
        services.book(UserFactory(), slot.pk)
    services.join_waitlist(resident, slots[0].pk)
    services.join_waitlist(resident, slots[1].pk)
    with pytest.raises(services.TooManyWaiting):
        services.join_waitlist(resident, slots[2].pk)


def test_reschedule_to_another_clinic_is_refused(clinic, service, resident):
    from .factories import ClinicFactory

    elsewhere = ClinicFactory(services=[service], reschedule_cutoff_hours=0)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    other = SlotFactory(clinic=elsewhere, service=service, start=tomorrow_at(11))
    appointment = services.book(resident, old.pk)

    with pytest.raises(services.DifferentClinic) as error:
        services.reschedule(appointment, other.pk)

    assert "same clinic" in str(error.value)
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(other).booked) == (1, 0)
    assert Appointment.objects.filter(resident=resident).count() == 1


def test_reschedule_for_a_removed_dependant_is_refused(clinic, service, resident):
    child = DependantFactory(owner=resident)
    old = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(10))
    new = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(11))
    appointment = services.book(resident, old.pk, dependant=child)
    # Removed by another request after the appointment was loaded.
    type(child).objects.filter(pk=child.pk).update(is_active=False)

    with pytest.raises(services.DependantNotFound):
        services.reschedule(appointment, new.pk)

    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert (fresh(old).booked, fresh(new).booked) == (1, 0)


def test_accepting_an_offer_for_a_removed_dependant_is_refused(full_slot, resident):
    child = DependantFactory(owner=resident)
    entry = services.join_waitlist(resident, full_slot.pk, dependant=child)
    services.cancel(Appointment.objects.get(slot=full_slot), by=None)
    assert fresh(entry).status == WaitlistStatus.OFFERED
    type(child).objects.filter(pk=child.pk).update(is_active=False)

    with pytest.raises(services.DependantNotFound):
        services.accept_offer(resident, entry.pk)

    assert fresh(entry).status == WaitlistStatus.OFFERED
    slot = fresh(full_slot)
    assert (slot.booked, slot.held) == (0, 1)
    assert not Appointment.objects.filter(dependant=child).exists()


# Found in review -------------------------------------------------------------------------------
def test_a_schedule_change_retires_a_slot_that_only_had_a_cancelled_booking(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=_next_weekday(1).weekday())
    services.sync_rule_slots(rule, weeks=1)
    slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = services.book(UserFactory(), slot.pk)
    services.cancel(appointment, by=appointment.resident)

    rule.start_time, rule.end_time = time(14), time(15)
    rule.save()
    result = services.sync_rule_slots(rule, weeks=1)

    # The cancelled appointment keeps its slot; the slot is closed and no longer the rule's.
    slot = fresh(slot)
    assert (slot.status, slot.rule_id) == (SlotStatus.CLOSED, None)
    assert fresh(appointment).slot_id == slot.pk
    assert result["removed"] == 4 and result["created"] == 4 and not result["kept"]
    starts = [timezone.localtime(s.start).time() for s in Slot.objects.filter(rule=rule)]
    assert sorted(starts) == [time(14), time(14, 15), time(14, 30), time(14, 45)]


def test_one_rule_that_cannot_sync_does_not_stop_the_others(clinic, service, monkeypatch):
    from .factories import ClinicFactory

    broken = ScheduleRuleFactory(clinic=clinic, service=service, weekday=1)
    other_clinic = ClinicFactory(services=[service])
    healthy = ScheduleRuleFactory(clinic=other_clinic, service=service, weekday=1)
    real_sync = services.sync_rule_slots

    def sync(rule, **kwargs):
        if rule.pk == broken.pk:
            raise RuntimeError("a rule that cannot be synced")
        return real_sync(rule, **kwargs)

    monkeypatch.setattr(services, "sync_rule_slots", sync)
    assert services.generate_slots(weeks=2) > 0
    assert Slot.objects.filter(rule=healthy).exists()
    assert not Slot.objects.filter(rule=broken).exists()


def test_a_practitioner_change_moves_the_free_slots_to_the_new_practitioner(clinic, service):
    from .factories import PractitionerFactory

    first, second = PractitionerFactory(clinic=clinic), PractitionerFactory(clinic=clinic)
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, practitioner=first, weekday=_next_weekday(2).weekday()
    )
    services.sync_rule_slots(rule, weeks=1)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    services.book(UserFactory(), booked_slot.pk)

    rule.practitioner = second
    rule.save()
    result = services.sync_rule_slots(rule, weeks=1)

    # The booked slot stays with the practitioner its resident booked, and is reported.
    assert [s.pk for s in result["kept"]] == [booked_slot.pk]
    others = Slot.objects.filter(rule=rule).exclude(pk=booked_slot.pk)
    assert others.count() == 3 and {s.practitioner_id for s in others} == {second.pk}
    assert fresh(booked_slot).practitioner_id == first.pk


def test_a_longer_slot_length_remakes_the_free_slots(clinic, service):
    rule = ScheduleRuleFactory(
        clinic=clinic,
        service=service,
        weekday=_next_weekday(3).weekday(),
        start_time=time(9),
        end_time=time(10),
    )
    services.sync_rule_slots(rule, weeks=1)
    rule.slot_minutes = 20
    rule.save()
    services.sync_rule_slots(rule, weeks=1)
    slots = Slot.objects.filter(rule=rule).order_by("start")
    assert [(timezone.localtime(s.start).time(), s.end - s.start) for s in slots] == [
        (time(9), timedelta(minutes=20)),
        (time(9, 20), timedelta(minutes=20)),
        (time(9, 40), timedelta(minutes=20)),
    ]


def test_an_offer_skips_someone_who_booked_that_time_elsewhere(full_slot, clinic, service, outbox):
    first, second = UserFactory(), UserFactory()
    services.join_waitlist(first, full_slot.pk)
    services.join_waitlist(second, full_slot.pk)
    # The first in line has since booked the same time at another desk of the clinic.
    same_time = SlotFactory(
        clinic=clinic, service=service, start=full_slot.start, end=full_slot.end, capacity=1
    )
    services.book(first, same_time.pk)

    services.cancel(Appointment.objects.get(slot=full_slot), by=None)

    assert WaitlistEntry.objects.get(resident=first).status == WaitlistStatus.CANCELLED
    assert WaitlistEntry.objects.get(resident=second).status == WaitlistStatus.OFFERED
    assert services.accept_offer(second, WaitlistEntry.objects.get(resident=second).pk)
    assert (fresh(full_slot).booked, fresh(full_slot).held) == (1, 0)


def test_an_offer_passes_over_someone_at_their_limit_who_stays_in_line(
    full_slot, clinic, service, settings
):
    settings.BOOKING_MAX_UPCOMING = 1
    busy, free = UserFactory(), UserFactory()
    services.join_waitlist(busy, full_slot.pk)
    services.join_waitlist(free, full_slot.pk)
    services.book(busy, SlotFactory(clinic=clinic, service=service, start=tomorrow_at(8)).pk)

    services.cancel(Appointment.objects.get(slot=full_slot), by=None)

    assert WaitlistEntry.objects.get(resident=busy).status == WaitlistStatus.WAITING
    assert WaitlistEntry.objects.get(resident=free).status == WaitlistStatus.OFFERED


def test_removing_a_household_member_takes_them_off_the_waitlist(full_slot, resident):
    child = DependantFactory(owner=resident)
    next_in_line = UserFactory()
    offered = services.join_waitlist(resident, full_slot.pk, dependant=child)
    services.join_waitlist(next_in_line, full_slot.pk)
    services.cancel(Appointment.objects.get(slot=full_slot), by=None)
    assert fresh(offered).status == WaitlistStatus.OFFERED

    services.remove_dependant(child)

    assert fresh(offered).status == WaitlistStatus.CANCELLED
    # The held place went to the next in line instead of waiting for an offer nobody can take.
    assert WaitlistEntry.objects.get(resident=next_in_line).status == WaitlistStatus.OFFERED
    assert (fresh(full_slot).booked, fresh(full_slot).held) == (0, 1)


def test_a_household_member_with_an_unmarked_past_visit_can_be_removed(clinic, service, resident):
    child = DependantFactory(owner=resident)
    start = timezone.now() - timedelta(days=2)
    past = SlotFactory(clinic=clinic, service=service, start=start, end=start + DAY / 96)
    AppointmentFactory(slot=past, resident=resident, dependant=child)
    upcoming = services.book(
        resident, SlotFactory(clinic=clinic, service=service).pk, dependant=child
    )

    with pytest.raises(services.BookingError):
        services.remove_dependant(child)
    services.cancel(upcoming, by=resident)
    services.remove_dependant(child)
    assert not fresh(child).is_active


def test_closing_a_slot_tells_the_people_waiting_and_the_one_offered(full_slot, outbox):
    offered, waiting = UserFactory(), UserFactory()
    for person in (offered, waiting):
        person.profile.preferred_language = "en"
        person.profile.save()
    services.join_waitlist(offered, full_slot.pk)
    services.join_waitlist(waiting, full_slot.pk)
    services.cancel(Appointment.objects.get(slot=full_slot), by=None)
    services.join_waitlist(UserFactory(), full_slot.pk)  # a place is held, so still a line

    services.close_slot(full_slot, reason="Power cut")

    for person in (offered, waiting):
        message = outbox(person)[-1]
        assert "closed the time you were waiting for" in message.subject
        assert "Power cut" in message.body
        assert message.url == services.rebook_url(full_slot)
    assert set(WaitlistEntry.objects.values_list("status", flat=True)) == {WaitlistStatus.EXPIRED}
    assert fresh(full_slot).held == 0


def test_a_closure_for_today_leaves_visits_already_begun_alone(clinic, service):
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    morning = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now - timedelta(hours=2))
    )
    afternoon = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(hours=2))
    )
    closure = ClosureFactory(clinic=clinic, date=timezone.localdate(now), reason="Outage")

    cancelled = services.apply_closure(closure, now=now)

    assert [a.pk for a in cancelled] == [afternoon.pk]
    assert fresh(morning).status == AppointmentStatus.BOOKED
    assert fresh(morning.slot).status == SlotStatus.OPEN


def test_a_visit_on_a_later_day_cannot_be_marked_completed(clinic, service):
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
    later_today = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(hours=3))
    )
    tomorrow = AppointmentFactory(
        slot=SlotFactory(clinic=clinic, service=service, start=now + timedelta(days=1))
    )
    with pytest.raises(services.NotYetDay):
        services.mark_completed(tomorrow, now=now)
    assert fresh(tomorrow).status == AppointmentStatus.BOOKED
    # Seen early on the day itself (checked in before the time) is fine.
    services.mark_completed(later_today, now=now)
    assert fresh(later_today).status == AppointmentStatus.COMPLETED


def test_a_service_the_clinic_stops_offering_takes_no_new_bookings(clinic, service, resident):
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, capacity=3, weekday=_next_weekday(2).weekday()
    )
    services.sync_rule_slots(rule, weeks=1)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = services.book(resident, booked_slot.pk)

    clinic.services.remove(service)
    kept = services.sync_clinic_slots(clinic)

    # The resident keeps their appointment; the free times are gone; nobody new gets in.
    assert [s.pk for s in kept] == [booked_slot.pk]
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert list(Slot.objects.filter(rule=rule)) == [booked_slot]
    with pytest.raises(services.SlotFull):
        services.book(UserFactory(), booked_slot.pk)
    assert services.generate_slots(weeks=1) == 0

    clinic.services.add(service)
    services.sync_clinic_slots(clinic)
    assert services.free_slots().filter(rule=rule).exists()


def test_a_clinic_closed_for_good_makes_no_more_slots(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=_next_weekday(2).weekday())
    services.sync_rule_slots(rule, weeks=1)
    clinic.is_active = False
    clinic.save()
    services.sync_clinic_slots(clinic)
    assert not Slot.objects.filter(rule=rule).exists()
