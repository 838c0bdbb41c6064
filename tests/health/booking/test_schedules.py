"""What staff plan: schedule rules and their slots, closures, closing a time, capacity."""

from datetime import datetime, time, timedelta

from django.utils import timezone

import pytest

from health.booking import errors, notifications, rules, schedules, selectors, waitlists
from health.booking.models import (
    Appointment,
    AppointmentStatus,
    Slot,
    SlotStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from portal.notifications.models import Message
from tests.factories import UserFactory

from .factories import (
    AppointmentFactory,
    ClosureFactory,
    ScheduleRuleFactory,
    SlotFactory,
    fresh,
    next_weekday,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def test_closing_a_slot_cancels_and_notifies_with_a_rebook_link(slot, outbox):
    resident = UserFactory()
    appointment = rules.book(resident, slot.pk)

    cancelled = schedules.close_slot(slot, reason="Power cut")

    assert [a.pk for a in cancelled] == [appointment.pk]
    assert fresh(appointment).status == AppointmentStatus.CANCELLED
    slot = fresh(slot)
    assert slot.status == SlotStatus.CLOSED and slot.booked == 0
    message = outbox(resident)[-1]
    assert "Power cut" in message.body
    assert message.url == f"/clinics/clinic/{slot.clinic_id}/{slot.service.code}/"
    with pytest.raises(errors.SlotClosed):
        rules.book(UserFactory(), slot.pk)


def test_closure_for_part_of_a_day(clinic, service):
    morning = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(9))
    afternoon = SlotFactory(clinic=clinic, service=service, start=tomorrow_at(15))
    booked = rules.book(UserFactory(), morning.pk)
    closure = ClosureFactory(
        clinic=clinic,
        date=timezone.localdate() + timedelta(days=1),
        start_time=time(8),
        end_time=time(12),
    )

    schedules.apply_closure(closure)
    schedules.apply_closure(closure)  # idempotent

    assert fresh(morning).status == SlotStatus.CLOSED
    assert fresh(afternoon).status == SlotStatus.OPEN
    assert fresh(booked).status == AppointmentStatus.CANCELLED
    # Booked, then one cancellation: applying the closure twice told the resident once.
    assert Message.objects.filter(user=booked.resident).count() == 2


def test_generate_slots_from_a_weekly_rule_is_idempotent(clinic, service):
    day = next_weekday(2)
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, weekday=2, start_time=time(9), end_time=time(10), capacity=3
    )
    created = schedules.generate_slots(weeks=2)
    assert created >= 4
    assert schedules.generate_slots(weeks=2) == 0
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
    day = next_weekday(3)
    ClosureFactory(clinic=clinic, date=day)
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=3)
    schedules.sync_rule_slots(rule, weeks=1)
    assert not [s for s in Slot.objects.filter(rule=rule) if timezone.localdate(s.start) == day]


def test_schedule_change_never_drops_a_booked_slot(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=next_weekday(1).weekday())
    schedules.sync_rule_slots(rule, weeks=1)
    slots = list(Slot.objects.filter(rule=rule).order_by("start"))
    booked_slot = slots[0]
    appointment = rules.book(UserFactory(), booked_slot.pk)

    rule.start_time, rule.end_time = time(14), time(15)
    rule.save()
    result = schedules.sync_rule_slots(rule, weeks=1)

    assert [s.pk for s in result["kept"]] == [booked_slot.pk]
    assert Slot.objects.filter(pk=booked_slot.pk).exists()
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert not Slot.objects.filter(pk__in=[s.pk for s in slots[1:]]).exists()
    assert result["created"] == 4


def test_lowering_rule_capacity_keeps_taken_places(clinic, service):
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, capacity=2, weekday=next_weekday(4).weekday()
    )
    schedules.sync_rule_slots(rule, weeks=1)
    slot = Slot.objects.filter(rule=rule).order_by("start").first()
    rules.book(UserFactory(), slot.pk)
    rules.book(UserFactory(), slot.pk)
    rule.capacity = 1
    rule.save()
    schedules.sync_rule_slots(rule, weeks=1)
    assert fresh(slot).capacity == 2
    assert {s.capacity for s in Slot.objects.filter(rule=rule).exclude(pk=slot.pk)} == {1}


def test_a_schedule_change_retires_a_slot_that_only_had_a_cancelled_booking(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=next_weekday(1).weekday())
    schedules.sync_rule_slots(rule, weeks=1)
    slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = rules.book(UserFactory(), slot.pk)
    rules.cancel(appointment, by=appointment.resident)

    rule.start_time, rule.end_time = time(14), time(15)
    rule.save()
    result = schedules.sync_rule_slots(rule, weeks=1)

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
    real_sync = schedules.sync_rule_slots

    def sync(rule, **kwargs):
        if rule.pk == broken.pk:
            raise RuntimeError("a rule that cannot be synced")
        return real_sync(rule, **kwargs)

    monkeypatch.setattr(schedules, "sync_rule_slots", sync)
    assert schedules.generate_slots(weeks=2) > 0
    assert Slot.objects.filter(rule=healthy).exists()
    assert not Slot.objects.filter(rule=broken).exists()


def test_a_practitioner_change_moves_the_free_slots_to_the_new_practitioner(clinic, service):
    from .factories import PractitionerFactory

    first, second = PractitionerFactory(clinic=clinic), PractitionerFactory(clinic=clinic)
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, practitioner=first, weekday=next_weekday(2).weekday()
    )
    schedules.sync_rule_slots(rule, weeks=1)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    rules.book(UserFactory(), booked_slot.pk)

    rule.practitioner = second
    rule.save()
    result = schedules.sync_rule_slots(rule, weeks=1)

    # The booked slot stays with the practitioner its resident booked, and is reported.
    assert [s.pk for s in result["kept"]] == [booked_slot.pk]
    others = Slot.objects.filter(rule=rule).exclude(pk=booked_slot.pk)
    assert others.count() == 3 and {s.practitioner_id for s in others} == {second.pk}
    assert fresh(booked_slot).practitioner_id == first.pk


def test_a_longer_slot_length_remakes_the_free_slots(clinic, service):
    rule = ScheduleRuleFactory(
        clinic=clinic,
        service=service,
        weekday=next_weekday(3).weekday(),
        start_time=time(9),
        end_time=time(10),
    )
    schedules.sync_rule_slots(rule, weeks=1)
    rule.slot_minutes = 20
    rule.save()
    schedules.sync_rule_slots(rule, weeks=1)
    slots = Slot.objects.filter(rule=rule).order_by("start")
    assert [(timezone.localtime(s.start).time(), s.end - s.start) for s in slots] == [
        (time(9), timedelta(minutes=20)),
        (time(9, 20), timedelta(minutes=20)),
        (time(9, 40), timedelta(minutes=20)),
    ]


def test_closing_a_slot_tells_the_people_waiting_and_the_one_offered(full_slot, outbox):
    offered, waiting = UserFactory(), UserFactory()
    for person in (offered, waiting):
        person.profile.preferred_language = "en"
        person.profile.save()
    waitlists.join_waitlist(offered, full_slot.pk)
    waitlists.join_waitlist(waiting, full_slot.pk)
    rules.cancel(Appointment.objects.get(slot=full_slot), by=None)
    waitlists.join_waitlist(UserFactory(), full_slot.pk)  # a place is held, so still a line

    schedules.close_slot(full_slot, reason="Power cut")

    for person in (offered, waiting):
        message = outbox(person)[-1]
        assert "closed the time you were waiting for" in message.subject
        assert "Power cut" in message.body
        assert message.url == notifications.rebook_url(full_slot)
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

    cancelled = schedules.apply_closure(closure, now=now)

    assert [a.pk for a in cancelled] == [afternoon.pk]
    assert fresh(morning).status == AppointmentStatus.BOOKED
    assert fresh(morning.slot).status == SlotStatus.OPEN


def test_a_service_the_clinic_stops_offering_takes_no_new_bookings(clinic, service, resident):
    rule = ScheduleRuleFactory(
        clinic=clinic, service=service, capacity=3, weekday=next_weekday(2).weekday()
    )
    schedules.sync_rule_slots(rule, weeks=1)
    booked_slot = Slot.objects.filter(rule=rule).order_by("start").first()
    appointment = rules.book(resident, booked_slot.pk)

    clinic.services.remove(service)
    kept = schedules.sync_clinic_slots(clinic)

    # The resident keeps their appointment; the free times are gone; nobody new gets in.
    assert [s.pk for s in kept] == [booked_slot.pk]
    assert fresh(appointment).status == AppointmentStatus.BOOKED
    assert list(Slot.objects.filter(rule=rule)) == [booked_slot]
    with pytest.raises(errors.SlotFull):
        rules.book(UserFactory(), booked_slot.pk)
    assert schedules.generate_slots(weeks=1) == 0

    clinic.services.add(service)
    schedules.sync_clinic_slots(clinic)
    assert selectors.free_slots().filter(rule=rule).exists()


def test_a_clinic_closed_for_good_makes_no_more_slots(clinic, service):
    rule = ScheduleRuleFactory(clinic=clinic, service=service, weekday=next_weekday(2).weekday())
    schedules.sync_rule_slots(rule, weeks=1)
    clinic.is_active = False
    clinic.save()
    schedules.sync_clinic_slots(clinic)
    assert not Slot.objects.filter(rule=rule).exists()
