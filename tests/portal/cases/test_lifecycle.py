"""A case's lifecycle through the shared transition mechanism (lifecycle.py): the table's
steps and who may take them, refusals that change nothing, the clock (starts at acceptance,
stopped by a correction request, running again on resubmission), one history shown to the
resident and to officers, and the resident's notifications."""

from datetime import date, datetime, time

from django.utils import timezone, translation

import pytest

from portal.cases import services
from portal.cases.lifecycle import CaseTransitionRefused
from portal.cases.models import CaseEvent, CasePause, CaseState
from portal.notifications.models import Message
from portal.workcalendar.services import seed_year
from portal.workflow import System
from portal.workflow.errors import ReasonRequired, TransitionForbidden
from portal.workflow.models import StateChange
from tests.factories import UserFactory

from .factories import CaseFactory, OfficeFactory, ServiceFactory, officer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def hong_kong_2026(settings):
    settings.WORKCALENDAR_REGION = "HK"
    seed_year(2026, confirm=True)


class Clock:
    """timezone.now() set by the test, at 10:00 local time on the day given."""

    def __init__(self, monkeypatch):
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def day(self, value):
        self.now = timezone.make_aware(datetime.combine(value, time(10)))


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def office():
    return OfficeFactory(code="LIF")


@pytest.fixture
def officer(office):
    return officer_of(office)


@pytest.fixture
def resident():
    user = UserFactory()
    user.profile.preferred_language = "en"
    user.profile.save()
    return user


def draft(office, resident, promised=10):
    service = ServiceFactory(office=office, promised_days=promised)
    return services.start_draft(resident, service)


def state_of(case):
    case.refresh_from_db()
    return case.state


def test_a_case_goes_from_submission_to_collection_with_one_history(
    hong_kong_2026, clock, office, officer, resident
):
    clock.day(date(2026, 3, 9))
    case = services.submit(draft(office, resident), by=resident)
    assert case.state == CaseState.SUBMITTED and case.reference.startswith("LIF-2026-")
    services.move(case, "accept", by=officer)
    services.move(case, "start", by=officer)
    services.move(case, "approve", by=officer)
    clock.day(date(2026, 3, 16))
    services.move(case, "result_ready", by=officer, reason="Collect it at counter 3.")
    services.move(case, "collect", by=officer)
    case.refresh_from_db()
    assert case.state == CaseState.COLLECTED
    assert case.decided_on == date(2026, 3, 9)
    assert case.result_note == "Collect it at counter 3."
    rows = StateChange.objects.filter(model="cases.case", object_id=str(case.pk))
    assert [(r.from_state, r.to_state) for r in rows] == [
        ("draft", "submitted"),
        ("submitted", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "approved"),
        ("approved", "result_ready"),
        ("result_ready", "collected"),
    ]
    assert [r.actor_kind for r in rows] == ["resident"] + ["staff"] * 5
    with translation.override("en"):
        mine = [entry.title for entry in services.history(case)]
        staff = services.history(case, staff=True)
    assert mine[0] == "We received your application." and mine[-1] == "You collected the result."
    assert staff[-1].title == "Result collected" and officer.email in staff[-1].actor
    # The department systems' feed carries each change; it is a feed, not a second history.
    assert CaseEvent.objects.filter(case=case, kind="case.status_changed").count() == 6


def test_the_clock_starts_at_acceptance_and_a_sunday_counts_from_monday(
    hong_kong_2026, clock, office, officer, resident
):
    clock.day(date(2026, 3, 7))  # Saturday
    case = services.submit(draft(office, resident), by=resident)
    # Before acceptance the date is an estimate from arrival: day one is Monday 9 March.
    assert services.is_estimate(case)
    assert case.due_date == date(2026, 3, 20)
    clock.day(date(2026, 3, 10))  # the office accepts on Tuesday: the clock starts then
    services.move(case, "accept", by=officer)
    case.refresh_from_db()
    assert case.accepted_on == date(2026, 3, 10) and not services.is_estimate(case)
    assert case.due_date == date(2026, 3, 23)
    # A department system accepting on a Sunday: day one is the Monday after.
    clock.day(date(2026, 3, 15))
    other = services.submit(draft(office, resident), by=resident)
    services.move(other, "accept", by=System("api: registry"))
    other.refresh_from_db()
    assert other.accepted_on == date(2026, 3, 15) and other.due_date == date(2026, 3, 27)
    with translation.override("en"):
        line = services.due_date_for(other).explanation()
    assert "10 working days from 16 March 2026" in line and "not a working day" in line


def test_a_correction_stops_the_clock_and_resubmission_starts_it_again(
    hong_kong_2026, clock, office, officer, resident
):
    clock.day(date(2026, 3, 9))  # Monday
    case = services.submit(draft(office, resident), by=resident)
    services.move(case, "accept", by=officer)
    services.move(case, "start", by=officer)
    case.refresh_from_db()
    assert case.due_date == date(2026, 3, 20)
    clock.day(date(2026, 3, 11))
    services.request_correction(case, "a clearer photo of your ID card", by=officer)
    case.refresh_from_db()
    assert case.state == CaseState.CORRECTION_REQUESTED
    pause = CasePause.objects.get(case=case)
    assert pause.started_on == date(2026, 3, 11) and pause.ended_on is None
    with translation.override("en"):
        assert (
            "the clock is stopped since 11 March 2026" in services.due_date_for(case).explanation()
        )
    clock.day(date(2026, 3, 16))  # the next Monday: 11, 12 and 13 March were paused
    services.resubmit(case, {"note": "new photo"}, {}, by=resident)
    case.refresh_from_db()
    pause.refresh_from_db()
    assert case.state == CaseState.RESUBMITTED and pause.ended_on == date(2026, 3, 16)
    assert case.answers["note"] == "new photo"
    assert case.due_date == date(2026, 3, 25)
    with translation.override("en"):
        line = services.due_date_for(case).explanation()
    assert "paused 3 working days while we waited for a clearer photo of your ID card" in line
    # Accepted again: the clock keeps its first day.
    services.move(case, "accept", by=officer)
    case.refresh_from_db()
    assert case.accepted_on == date(2026, 3, 9) and case.due_date == date(2026, 3, 25)


def test_a_correction_before_acceptance_costs_the_office_nothing(
    hong_kong_2026, clock, office, officer, resident
):
    clock.day(date(2026, 3, 2))
    case = services.submit(draft(office, resident), by=resident)
    clock.day(date(2026, 3, 3))
    services.request_correction(case, "your tenancy agreement", by=officer)
    clock.day(date(2026, 3, 5))
    services.resubmit(case, {}, {}, by=resident)
    clock.day(date(2026, 3, 6))
    services.move(case, "accept", by=officer)
    case.refresh_from_db()
    # 10 working days from Friday 6 March; the days before acceptance are not paused days.
    assert case.due_date == date(2026, 3, 19)
    with translation.override("en"):
        assert "paused" not in services.due_date_for(case).explanation()


def test_invalid_transitions_are_refused_and_change_nothing(office, officer, resident):
    case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    before = StateChange.objects.count()
    with pytest.raises(CaseTransitionRefused) as refused:
        services.move(case, "approve", by=officer)
    with translation.override("en"):
        assert str(refused.value) == (
            "This case cannot be moved on that way while it is “Submitted”."
        )
    assert refused.value.http_status == 409
    with pytest.raises(TransitionForbidden):
        services.move(case, "accept", by=resident)  # residents do not accept their own case
    services.move(case, "accept", by=officer)
    services.move(case, "start", by=officer)
    with pytest.raises(ReasonRequired):
        services.move(case, "reject", by=officer, reason="   ")
    with pytest.raises(ReasonRequired):
        services.request_correction(case, "", by=officer)
    assert state_of(case) == CaseState.IN_PROGRESS
    assert StateChange.objects.count() == before + 2
    assert not CasePause.objects.filter(case=case).exists()
    services.move(case, "reject", by=officer, reason="You do not live in the district.")
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED
    assert case.decision_reason == "You do not live in the district."
    with pytest.raises(CaseTransitionRefused):
        services.withdraw(case, by=resident)  # decided: too late to withdraw


def test_an_officer_of_office_a_cannot_act_on_office_bs_case(office, officer, resident):
    other = CaseFactory(service=ServiceFactory(office=OfficeFactory(code="OTH")))
    with pytest.raises(TransitionForbidden):
        services.move(other, "accept", by=officer)
    with pytest.raises(TransitionForbidden):
        services.request_correction(other, "your photo", by=officer)
    assert state_of(other) == CaseState.SUBMITTED
    assert not StateChange.objects.filter(object_id=str(other.pk)).exists()


def test_the_resident_withdraws_before_the_decision(office, officer, resident):
    case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    services.move(case, "accept", by=officer)
    services.request_correction(case, "your photo", by=officer)
    with pytest.raises(TransitionForbidden):
        services.withdraw(case, by=UserFactory())  # someone else cannot
    services.withdraw(case, by=resident)
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    # The pause the correction opened is closed with it.
    assert not CasePause.objects.filter(case=case, ended_on__isnull=True).exists()


def test_the_resident_is_told_and_a_burst_becomes_one_message(office, officer, resident):
    case = CaseFactory(service=ServiceFactory(office=office), applicant=resident)
    services.move(case, "accept", by=officer)
    services.move(case, "start", by=officer)
    status = Message.objects.filter(user=resident, kind="cases.status_changed")
    assert status.count() == 1
    message = status.get()
    assert message.merged_count == 2
    with translation.override("en"):
        assert "Being processed" in message.subject
    services.request_correction(case, "a clearer photo of your ID card", by=officer)
    correction = Message.objects.get(user=resident, kind="cases.correction_requested")
    with translation.override("en"):
        assert "a clearer photo of your ID card" in correction.body
    # The resident's own steps are not announced back to them.
    before = Message.objects.filter(user=resident).count()
    services.resubmit(case, {}, {}, by=resident)
    assert Message.objects.filter(user=resident).count() == before


def test_an_extension_is_in_the_history_and_moves_the_date(
    hong_kong_2026, clock, office, officer, resident
):
    service = ServiceFactory(office=office, promised_days=10, extension_max_days=5)
    clock.day(date(2026, 3, 9))
    case = services.submit(services.start_draft(resident, service), by=resident)
    services.move(case, "accept", by=officer)
    services.grant_extension(case, 2, "we need a site visit", by=officer)
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.due_date == date(2026, 3, 24)
    last = StateChange.objects.filter(object_id=str(case.pk)).last()
    assert (last.step, last.reason, last.from_state, last.to_state) == (
        "extend_accepted",
        "we need a site visit",
        "accepted",
        "accepted",
    )
    with translation.override("en"):
        assert services.history(case)[-1].reason == "we need a site visit"


@pytest.mark.django_db(transaction=True)
def test_two_officers_deciding_at_once_leave_exactly_one_winner():
    """One approves while the other rejects the same case: one wins, the other is told the
    case changed (a lost transition), and the history has one decision."""
    import threading

    from django.db import connection

    from portal.cases.lifecycle import CaseTransitionLost

    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises every writer)")
    office = OfficeFactory(code="RACE")
    first, second = officer_of(office), officer_of(office)
    case = CaseFactory(service=ServiceFactory(office=office), state=CaseState.IN_PROGRESS)
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(officer, step, reason):
        mine = type(case).objects.get(pk=case.pk)
        try:
            barrier.wait(timeout=10)
            services.move(mine, step, by=officer, reason=reason)
            outcomes.append(step)
        except CaseTransitionLost:
            outcomes.append("lost")
        except Exception as error:  # reported below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(first, "approve", "")),
        threading.Thread(target=decide, args=(second, "reject", "Not in the district.")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) in (["approve", "lost"], ["lost", "reject"])
    case.refresh_from_db()
    winner = next(o for o in outcomes if o != "lost")
    assert case.state == {"approve": CaseState.APPROVED, "reject": CaseState.REJECTED}[winner]
    decisions = StateChange.objects.filter(object_id=str(case.pk), step__in=["approve", "reject"])
    assert list(decisions.values_list("step", flat=True)) == [winner]
    assert CaseEvent.objects.filter(case=case, kind="case.status_changed").count() == 1


def test_history_of_unchanged_states_in_bulk_is_checked_against_the_table(office, officer):
    from portal.workflow import TransitionError, record_unchanged

    accepted = CaseFactory(service=ServiceFactory(office=office), state=CaseState.ACCEPTED)
    submitted = CaseFactory(service=ServiceFactory(office=office))
    rows = record_unchanged(
        [
            (accepted, "due_moved_accepted", "2026-07-17 → 2026-07-20"),
            (submitted, "due_moved_submitted", "2026-07-10 → 2026-07-13"),
        ],
        by=System("calendar"),
    )
    assert [(r.from_state, r.to_state, r.actor_kind) for r in rows] == [
        ("accepted", "accepted", "system"),
        ("submitted", "submitted", "system"),
    ]
    before = StateChange.objects.count()
    # A step that does not keep the object's state, or one not declared: nothing written.
    with pytest.raises(TransitionError):
        record_unchanged([(accepted, "due_moved_submitted", "x")], by=System("calendar"))
    with pytest.raises(TransitionError):
        record_unchanged([(accepted, "accept", "x")], by=System("calendar"))
    with pytest.raises(TypeError):
        record_unchanged([(accepted, "due_moved_accepted", "x")], by=officer)
    assert StateChange.objects.count() == before
