"""Cases' due dates follow the calendar: derived at submission, recomputed in the background
when the calendar changes (a typhoon closure added while a case is open), idempotently."""

from datetime import date

from django.utils import translation

import pytest

from portal.cases import services
from portal.cases.models import CaseExtension, CasePause, CaseState
from portal.workcalendar.models import CalendarDay, CalendarYear
from portal.workcalendar.services import seed_year
from tests.portal.workcalendar.factories import ClosureDayFactory

from .factories import CaseFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hong_kong_2026(settings):
    settings.WORKCALENDAR_REGION = "HK"
    seed_year(2026, confirm=True)


def open_case(received_on, promised=10, **kwargs):
    case = CaseFactory(
        service=ServiceFactory(promised_days=promised), received_on=received_on, **kwargs
    )
    services.refresh_due_date(case)
    case.refresh_from_db()
    return case


def test_a_typhoon_closure_added_while_a_case_is_open_moves_its_due_date(
    hong_kong_2026, django_capture_on_commit_callbacks
):
    case = open_case(date(2026, 7, 6))
    decided = open_case(date(2026, 7, 6), state=CaseState.APPROVED)
    assert case.due_date == date(2026, 7, 17) and not case.due_provisional
    with django_capture_on_commit_callbacks(execute=True):
        ClosureDayFactory(date=date(2026, 7, 9))
    case.refresh_from_db()
    decided.refresh_from_db()
    assert case.due_date == date(2026, 7, 20)
    assert decided.due_date == date(2026, 7, 17)  # a decided case keeps the date it had
    moved = case.events.get(kind="case.due_date_moved")
    assert moved.data == {"old": "2026-07-17", "new": "2026-07-20"}
    # ... and in the case's history, which the resident and the officer read.
    with translation.override("en"):
        [entry] = services.history(case)
        assert entry.title.startswith("The office calendar changed")
        assert entry.reason == "2026-07-17 → 2026-07-20"
        [staff_entry] = services.history(case, staff=True)
        assert staff_entry.title == "Due date moved by a calendar change"
        assert "calendar" in staff_entry.actor
    assert services.history(decided) == []
    with translation.override("en"):
        line = services.due_date_for(case).explanation()
    assert "1 office closure day (9 July 2026 Typhoon signal No. 8)" in line
    # Recomputing again finds nothing to change.
    assert services.recompute_open_cases().changed == 0


def test_across_the_spring_festival_on_the_mainland_calendar(settings):
    settings.WORKCALENDAR_REGION = "CN"
    seed_year(2026, confirm=True)
    case = open_case(date(2026, 2, 13))
    assert case.due_date == date(2026, 3, 4)  # 14 and 28 February are make-up working days


def test_an_unconfirmed_year_is_provisional_until_confirmed(
    hong_kong_2026, django_capture_on_commit_callbacks
):
    seed_year(2027)
    case = open_case(date(2026, 12, 21), promised=15)
    assert case.due_provisional and case.due_date.year == 2027
    with django_capture_on_commit_callbacks(execute=True):
        year = CalendarYear.objects.get(year=2027)
        year.confirmed = True
        year.save()
    case.refresh_from_db()
    assert not case.due_provisional


def test_pauses_and_extensions_count(hong_kong_2026):
    case = open_case(date(2026, 3, 2))
    assert case.due_date == date(2026, 3, 13)
    CasePause.objects.create(
        case=case, started_on=date(2026, 3, 4), ended_on=date(2026, 3, 9), reason="your photo"
    )
    CaseExtension.objects.create(case=case, days=2, reason="a site visit")
    services.refresh_due_date(case)
    case.refresh_from_db()
    assert case.due_date == date(2026, 3, 20)  # 3 paused + 2 extended working days
    with translation.override("en"):
        line = services.due_date_for(case).explanation()
    assert "paused 3 working days while we waited for your photo" in line
    assert "extended by 2 working days: a site visit" in line


def test_recompute_stores_only_what_moved_and_is_idempotent(hong_kong_2026):
    cases = [open_case(date(2026, 7, day)) for day in (6, 7, 8)]
    assert services.recompute_open_cases().changed == 0
    CalendarDay.objects.create(date=date(2026, 7, 8), kind=CalendarDay.Kind.CLOSURE)
    first = services.recompute_open_cases(batch_size=2)
    assert first.checked == 3 and first.changed == 3
    assert services.recompute_open_cases().changed == 0
    assert {c.pk for c in cases}
