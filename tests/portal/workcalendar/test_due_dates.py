"""Due dates on real calendars, and the line that explains them, in each language."""

from datetime import date, timedelta

from django.utils import translation

import pytest

from portal.workcalendar.periods import Extension, Pause, compute_due_date, progress
from portal.workcalendar.services import holiday_schedule
from portal.workcalendar.workdays import BusinessCalendar, CalendarError


def seeded(region, year, confirmed=True, **extra):
    """The calendar the seeding command would build for `region` and `year` (no database)."""
    schedule = holiday_schedule(region, year)
    return BusinessCalendar(
        holidays={d: names[2] for d, (kind, names) in schedule.items() if kind == "holiday"},
        working_days=frozenset(d for d, (kind, _n) in schedule.items() if kind == "working_day"),
        confirmed_years=frozenset({year} if confirmed else ()),
        **extra,
    )


def test_across_the_spring_festival_with_its_make_up_working_days():
    """Mainland China, 2026: 16-20 and 23 February are days off, and Saturday 14 February and
    Saturday 28 February are working days."""
    calendar = seeded("CN", 2026)
    assert calendar.is_working_day(date(2026, 2, 14)) and calendar.is_working_day(date(2026, 2, 28))
    result = compute_due_date(calendar, date(2026, 2, 13), 10)
    # 13, 14 (Sat), 24, 25, 26, 27, 28 (Sat), 2, 3, 4 March.
    assert result.due == date(2026, 3, 4)
    assert [d for d, _ in result.holidays] == [
        date(2026, 2, 16),
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 2, 20),
        date(2026, 2, 23),
    ]
    assert [d for d, _ in result.made_up] == [date(2026, 2, 14), date(2026, 2, 28)]
    assert not result.provisional
    with translation.override("en"):
        assert result.explanation() == (
            "Due 4 March 2026: 10 working days from 13 February 2026; 6 public holidays; "
            "2 make-up working days on weekends counted (14 February 2026, 28 February 2026)"
        )


def test_received_on_a_holiday_starts_on_the_next_working_day():
    calendar = seeded("CN", 2026)
    result = compute_due_date(calendar, date(2026, 2, 17), 1)  # Spring Festival
    assert result.day_one == result.due == date(2026, 2, 24)


def test_the_explanation_line_in_three_languages():
    calendar = BusinessCalendar(
        holidays={date(2026, 3, 3): "Lantern Festival"}, confirmed_years=frozenset({2026})
    )
    result = compute_due_date(
        calendar, date(2026, 2, 24), 10, [Pause(date(2026, 3, 4), date(2026, 3, 9), "your photo")]
    )
    assert result.due == date(2026, 3, 13)
    with translation.override("en"):
        assert result.explanation() == (
            "Due 13 March 2026: 10 working days from 24 February 2026; paused 3 working days "
            "while we waited for your photo; 1 public holiday"
        )
    with translation.override("zh-hant"):
        assert result.explanation() == (
            "2026年3月13日到期：由2026年2月24日起計10個工作天；"
            "等候你提交your photo期間暫停3個工作天；1個公眾假期"
        )
    with translation.override("zh-hans"):
        assert result.explanation() == (
            "2026年3月13日到期：自2026年2月24日起计10个工作日；"
            "等候你提交your photo期间暂停3个工作日；1个公众假期"
        )


def test_extension_open_pause_and_closure_are_explained():
    calendar = BusinessCalendar(
        closures={date(2026, 9, 16): "Typhoon signal No. 8"}, confirmed_years=frozenset({2026})
    )
    result = compute_due_date(
        calendar,
        date(2026, 9, 14),
        5,
        [Pause(date(2026, 9, 18), None, "your tenancy agreement")],
        [Extension(2, "a site visit is needed")],
    )
    assert result.clock_stopped and result.paused_days == 0
    assert result.due == date(2026, 9, 23)  # 14, 15, (16 closed), 17, 18, 21, and 2 more
    with translation.override("en"):
        line = result.explanation()
    assert "extended by 2 working days: a site visit is needed" in line
    assert "the clock is stopped since 18 September 2026 while we wait for your tenancy" in line
    assert "1 office closure day (16 September 2026 Typhoon signal No. 8)" in line


def test_a_typhoon_closure_moves_an_open_period_by_one_working_day():
    calendar = seeded("HK", 2026)
    before = compute_due_date(calendar, date(2026, 7, 6), 10)
    typhoon = BusinessCalendar(
        holidays=calendar.holidays,
        closures={date(2026, 7, 9): "Typhoon signal No. 8"},
        confirmed_years=calendar.confirmed_years,
    )
    after = compute_due_date(typhoon, date(2026, 7, 6), 10)
    assert before.due == date(2026, 7, 17)
    assert after.due == date(2026, 7, 20)  # the next working day after Friday the 17th


def test_an_unconfirmed_year_makes_the_date_provisional_and_says_so():
    calendar = seeded("HK", 2026, confirmed=True)
    result = compute_due_date(calendar, date(2026, 12, 21), 15)
    assert result.due.year == 2027
    assert result.provisional and result.unconfirmed_years == (2027,)
    with translation.override("en"):
        assert "provisional: the calendar for 2027 is not confirmed yet" in result.explanation()


def test_progress_on_track_at_risk_overdue():
    calendar = BusinessCalendar(confirmed_years=frozenset({2026}))
    result = compute_due_date(calendar, date(2026, 3, 2), 10)  # Mon 2 March .. Fri 13 March
    assert result.due == date(2026, 3, 13)
    assert result.at_risk_from == date(2026, 3, 11)  # the 8th working day: 80 % used
    assert progress(calendar, result, date(2026, 3, 2)).state == "on_track"
    assert progress(calendar, result, date(2026, 3, 2)).working_days_left == 9
    assert progress(calendar, result, date(2026, 3, 11)).state == "at_risk"
    assert progress(calendar, result, date(2026, 3, 13)).working_days_left == 0
    late = progress(calendar, result, date(2026, 3, 16))
    assert late.overdue and late.working_days_left == -1


@pytest.mark.parametrize(
    "kwargs",
    [{"weekend": frozenset(range(7))}, {"weekend": frozenset({7})}],
)
def test_a_calendar_without_working_days_is_refused(kwargs):
    with pytest.raises(CalendarError):
        BusinessCalendar(**kwargs)


def test_impossible_requests_are_refused():
    calendar = BusinessCalendar()
    with pytest.raises(CalendarError):
        compute_due_date(calendar, date(2026, 1, 5), 0)
    with pytest.raises(CalendarError):
        compute_due_date(calendar, date(2026, 1, 5), 3, [Pause(date(2026, 1, 9), date(2026, 1, 8))])
    closed = BusinessCalendar(closures={date(2026, 1, 1) + timedelta(i): "" for i in range(4000)})
    with pytest.raises(CalendarError):
        compute_due_date(closed, date(2026, 1, 1), 1)
