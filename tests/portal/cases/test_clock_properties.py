"""Property-based tests of the case clock's own rule (hypothesis, bounded examples): only the
time the office's clock was stopped *after it started* (acceptance) counts, so a correction
asked for before acceptance costs the office nothing and one that straddles acceptance costs
only its part after it."""

from datetime import timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from portal.cases.clock import counted_pauses
from portal.workcalendar.periods import compute_due_date
from tests.portal.workcalendar.test_workdays_properties import (
    BOUNDED,
    calendars,
    count,
    promises,
    starts,
)


@st.composite
def case_pauses(draw, start):
    """CasePause-like rows around `start`: before it, across it, after it; ended or not."""
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        begin = start + timedelta(days=draw(st.integers(-40, 40)))
        length = draw(st.one_of(st.none(), st.integers(0, 30)))
        end = None if length is None else begin + timedelta(days=length)
        rows.append(SimpleNamespace(started_on=begin, ended_on=end, reason="x"))
    return rows


@BOUNDED
@given(calendars(), starts, promises, st.data())
def test_only_paused_time_after_the_clock_started_counts(calendar, start, n, data):
    rows = data.draw(case_pauses(start))
    counted = counted_pauses(start, rows)
    due = compute_due_date(calendar, start, n, counted)
    expected = 0
    for row in rows:
        if row.ended_on is None or row.ended_on <= start:
            continue  # still open (counted when it ends) or wholly before the start
        expected += count(calendar, max(row.started_on, start), row.ended_on - timedelta(1))
    assert due.paused_days == expected
    assert due.due == compute_due_date(calendar, start, n + expected).due
    # No pause counted starts before the clock did.
    assert all(pause.start >= start for pause in counted)


@BOUNDED
@given(calendars(), starts, promises, st.data())
def test_pauses_wholly_before_acceptance_change_nothing(calendar, start, n, data):
    rows = [
        row
        for row in data.draw(case_pauses(start))
        if row.ended_on is not None and row.ended_on <= start
    ]
    assert compute_due_date(calendar, start, n, counted_pauses(start, rows)).due == (
        compute_due_date(calendar, start, n).due
    )
