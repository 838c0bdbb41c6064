"""Property-based tests of the working-day arithmetic (hypothesis, bounded examples).

Calendars are drawn at random: holidays, closure days and make-up working days anywhere in
2025-2027, on top of a Saturday/Sunday weekend.
"""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.workcalendar.periods import Extension, Pause, compute_due_date
from portal.workcalendar.workdays import BusinessCalendar

FIRST, LAST = date(2025, 1, 1), date(2027, 6, 30)
BOUNDED = settings(max_examples=150, deadline=None)

days = st.dates(min_value=FIRST, max_value=LAST)
weekend_days = days.filter(lambda d: d.weekday() >= 5)


@st.composite
def calendars(draw):
    holidays = draw(st.sets(days, max_size=40))
    closures = draw(st.sets(days, max_size=10))
    working = draw(st.sets(weekend_days, max_size=12))
    confirmed = draw(st.sets(st.sampled_from([2025, 2026, 2027])))
    return BusinessCalendar(
        holidays=dict.fromkeys(holidays, "holiday"),
        closures=dict.fromkeys(closures, "closure"),
        working_days=frozenset(working),
        confirmed_years=frozenset(confirmed),
    )


def with_working_day(calendar, day):
    return BusinessCalendar(
        weekend=calendar.weekend,
        holidays=calendar.holidays,
        closures=calendar.closures,
        working_days=calendar.working_days | {day},
        confirmed_years=calendar.confirmed_years,
    )


def with_closure(calendar, day):
    return BusinessCalendar(
        weekend=calendar.weekend,
        holidays=calendar.holidays,
        closures={**calendar.closures, day: "Typhoon signal No. 8"},
        working_days=calendar.working_days,
        confirmed_years=calendar.confirmed_years,
    )


def works(calendar, day):
    """The rule written out independently of the code under test."""
    if day in calendar.closures or day in calendar.holidays:
        return False
    return day in calendar.working_days or day.weekday() < 5


def count(calendar, first, last):
    """Working days in [first, last], by the independent rule."""
    return sum(works(calendar, first + timedelta(i)) for i in range((last - first).days + 1))


promises = st.integers(min_value=1, max_value=60)
starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 6, 30))


@BOUNDED
@given(calendars(), starts, promises)
def test_monotonic_in_n(calendar, start, n):
    shorter = compute_due_date(calendar, start, n).due
    longer = compute_due_date(calendar, start, n + 1).due
    assert longer > shorter


@BOUNDED
@given(calendars(), starts, promises)
def test_due_is_the_nth_working_day_and_never_a_day_off(calendar, start, n):
    result = compute_due_date(calendar, start, n)
    assert works(calendar, result.due)
    assert works(calendar, result.day_one)
    assert result.day_one >= start
    assert result.day_one == start or count(calendar, start, result.day_one) == 1
    assert count(calendar, result.day_one, result.due) == n
    assert result.due not in calendar.closures and result.due not in calendar.holidays


pauses = st.tuples(starts, st.integers(min_value=0, max_value=40)).map(
    lambda t: Pause(t[0], t[0] + timedelta(days=t[1]))
)


@BOUNDED
@given(calendars(), starts, promises, st.lists(pauses, max_size=4))
def test_pauses_are_additive(calendar, start, n, pause_list):
    with_pauses = compute_due_date(calendar, start, n, pause_list)
    costs = [count(calendar, p.start, p.end - timedelta(1)) for p in pause_list]
    assert [days for _pause, days in with_pauses.pauses] == costs
    # The same as promising their working days on top ...
    assert with_pauses.due == compute_due_date(calendar, start, n + sum(costs)).due
    # ... in any order ...
    assert with_pauses.due == compute_due_date(calendar, start, n, pause_list[::-1]).due
    # ... and one pause split in two at any day costs what it cost whole.
    if pause_list:
        whole = pause_list[0]
        middle = whole.start + (whole.end - whole.start) / 2
        split = [Pause(whole.start, middle), Pause(middle, whole.end), *pause_list[1:]]
        assert compute_due_date(calendar, start, n, split).due == with_pauses.due


@BOUNDED
@given(calendars(), starts, promises, st.lists(st.integers(0, 15), max_size=3))
def test_extensions_add_working_days(calendar, start, n, extra):
    extensions = [Extension(days, "more checks") for days in extra]
    assert (
        compute_due_date(calendar, start, n, (), extensions).due
        == compute_due_date(calendar, start, n + sum(extra)).due
    )


@BOUNDED
@given(calendars(), starts, promises, st.lists(pauses, max_size=3))
def test_recompute_is_idempotent(calendar, start, n, pause_list):
    first = compute_due_date(calendar, start, n, pause_list)
    again = compute_due_date(calendar, start, n, pause_list)
    assert first == again
    # The due date is a working day: counting from it finds it again, and so does rolling.
    assert calendar.next_working_day(first.due) == first.due
    assert calendar.add_working_days(first.due, 1) == first.due
    assert calendar.next_working_day(calendar.next_working_day(start)) == first.day_one


@BOUNDED
@given(calendars(), starts, promises, weekend_days)
def test_make_up_saturdays_count(calendar, start, n, made_up):
    before = compute_due_date(calendar, start, n)
    after_calendar = with_working_day(calendar, made_up)
    after = compute_due_date(after_calendar, start, n)
    counts = not works(calendar, made_up) and works(after_calendar, made_up)
    if counts and before.day_one <= made_up < before.due:
        assert after.due < before.due
        assert made_up in [d for d, _name in after.made_up]
    elif not counts or made_up > before.due:
        assert after.due == before.due
    assert count(after_calendar, after.day_one, after.due) == n


@BOUNDED
@given(calendars(), starts, promises, days)
def test_closure_days_are_honoured(calendar, start, n, closed):
    before = compute_due_date(calendar, start, n)
    after_calendar = with_closure(calendar, closed)
    after = compute_due_date(after_calendar, start, n)
    assert after.due != closed and after.day_one != closed
    if works(calendar, closed) and before.day_one <= closed <= before.due:
        # One working day fewer before the due date: it moves to the next working day.
        assert after.due == after_calendar.next_working_day(before.due, inclusive=False)
    elif not works(calendar, closed) or closed > before.due:
        assert after.due == before.due


@BOUNDED
@given(calendars(), starts, promises)
def test_provisional_when_a_year_of_the_span_is_unconfirmed(calendar, start, n):
    result = compute_due_date(calendar, start, n)
    span = set(range(start.year, result.due.year + 1))
    assert result.provisional == bool(span - calendar.confirmed_years)
    assert set(result.unconfirmed_years) == span - calendar.confirmed_years


@BOUNDED
@given(calendars(), starts, promises)
def test_at_risk_comes_before_the_due_date(calendar, start, n):
    result = compute_due_date(calendar, start, n)
    assert result.day_one <= result.at_risk_from <= result.due
    used = count(calendar, result.day_one, result.at_risk_from)
    assert used >= 0.8 * n
