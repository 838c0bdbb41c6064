"""Working-day arithmetic on a business calendar: plain functions on plain data, no database.

A `BusinessCalendar` says which days are working days: Monday to Friday (the weekly rest days
are a setting), less public holidays and ad-hoc closure days (a typhoon signal No. 8, a black
rainstorm warning), plus make-up working days (a weekend day the national schedule declares a
working day). Everything that counts working days — due dates of cases, card production, any
other period the district promises — asks these functions, so they all count the same way.

Precedence on one date: a closure day is never a working day (an office closed by a typhoon on
a make-up Saturday is closed); a holiday is never a working day; a make-up working day is one
even on a weekend; otherwise the weekday decides.
"""

from dataclasses import dataclass, field
from datetime import timedelta

# No period the district promises is longer than a few months; a walk that goes on for ten
# years means a calendar with no working days at all, which is a configuration error.
MAX_WALK_DAYS = 3660

ONE_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """The calendar cannot answer: no working day within reach, or an impossible request."""


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Which days are working days.

    - `weekend`: weekday numbers (Monday 0 … Sunday 6) that are rest days every week.
    - `holidays`: date → name of a public holiday (not a working day).
    - `closures`: date → reason of an ad-hoc office closure (not a working day).
    - `working_days`: make-up working days (working days even on a weekend).
    - `confirmed_years`: years whose schedule staff have confirmed against the official
      announcement; a date in any other year is provisional.
    """

    weekend: frozenset = frozenset({5, 6})
    holidays: dict = field(default_factory=dict)
    closures: dict = field(default_factory=dict)
    working_days: frozenset = frozenset()
    confirmed_years: frozenset = frozenset()

    def __post_init__(self):
        if not set(self.weekend) <= set(range(7)):
            raise CalendarError(f"Weekend days are weekday numbers 0-6, not {self.weekend!r}")
        if len(set(self.weekend)) >= 7:
            raise CalendarError("A week needs at least one working weekday.")

    def is_working_day(self, day):
        """Whether offices work on `day`."""
        if day in self.closures or day in self.holidays:
            return False
        if day in self.working_days:
            return True
        return day.weekday() not in self.weekend

    def is_confirmed(self, year):
        return year in self.confirmed_years

    def next_working_day(self, day, *, inclusive=True):
        """The first working day on or after `day` (after it, with inclusive=False)."""
        current = day if inclusive else day + ONE_DAY
        for _step in range(MAX_WALK_DAYS):
            if self.is_working_day(current):
                return current
            current += ONE_DAY
        raise CalendarError(f"No working day within {MAX_WALK_DAYS} days of {day}.")

    def add_working_days(self, start, count):
        """The `count`-th working day counting from `start`: day one is the first working day
        on or after `start`. `count` must be at least 1."""
        if count < 1:
            raise CalendarError(f"Count working days from 1, not {count}.")
        current = self.next_working_day(start)
        remaining = count - 1
        steps = 0
        while remaining:
            current += ONE_DAY
            steps += 1
            if steps > MAX_WALK_DAYS:
                raise CalendarError(f"{count} working days from {start} is out of reach.")
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start, end):
        """How many working days fall in [start, end): `start` counts, `end` does not."""
        if end <= start:
            return 0
        if (end - start).days > MAX_WALK_DAYS * 10:
            raise CalendarError(f"{start}–{end} is too long a range to count.")
        count = 0
        current = start
        while current < end:
            if self.is_working_day(current):
                count += 1
            current += ONE_DAY
        return count

    def days_off_between(self, first, last):
        """The holidays and closure days on weekdays in [first, last] (weekend holidays and
        closures cost no working day and are left out), and the make-up working days on
        weekends there: three sorted lists of (date, name)."""
        holidays, closures, made_up = [], [], []
        current = first
        while current <= last:
            weekday_rest = current.weekday() in self.weekend
            if current in self.closures:
                if not weekday_rest or current in self.working_days:
                    closures.append((current, self.closures[current]))
            elif current in self.holidays:
                if not weekday_rest or current in self.working_days:
                    holidays.append((current, self.holidays[current]))
            elif current in self.working_days and weekday_rest:
                made_up.append((current, ""))
            current += ONE_DAY
        return holidays, closures, made_up

    def unconfirmed_years(self, first, last):
        """The years in [first, last] that staff have not confirmed."""
        return [y for y in range(first.year, last.year + 1) if y not in self.confirmed_years]


def weekdays_only(weekend=(5, 6)):
    """A calendar of plain weekdays, nothing confirmed: what is known without any data."""
    return BusinessCalendar(weekend=frozenset(weekend))
