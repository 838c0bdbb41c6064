"""Due dates: derived from the calendar, never typed in, and explained the same way to the
resident and the officer.

    due = day one + promised working days
              + every working day the clock was stopped (waiting on the resident)
              + granted extensions (in working days)

Day one is the first working day on or after the start (an application accepted on a Sunday
starts on Monday). A pause covers the working days from the day the clock stopped up to, not
including, the day it ran again: a correction asked for and sent on the same day costs nothing.
A pause still open (the office is waiting now) is not counted until it ends; the date then
moves by the working days it took, and the explanation says the clock is stopped.

`compute_due_date` is a pure function of its inputs, so recomputing it is idempotent: the
background job that follows a calendar change calls it again and stores the result only where
it differs.
"""

from dataclasses import dataclass
from datetime import date
from math import ceil

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from portal.dates import format_when

from .workdays import ONE_DAY, BusinessCalendar, CalendarError


@dataclass(frozen=True)
class Pause:
    """The clock stopped on `start` and ran again on `end` (None: still stopped)."""

    start: date
    end: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class Extension:
    """Working days granted on top of the promise, with the reason shown to the resident."""

    days: int
    reason: str = ""


@dataclass(frozen=True)
class DueDate:
    """The result of the arithmetic and everything needed to explain it."""

    due: date
    start: date
    day_one: date
    promised: int
    pauses: tuple  # of (Pause, working days it cost); an open pause costs 0 until it ends
    extensions: tuple  # of Extension
    holidays: tuple  # (date, name) of holidays on weekdays between day one and the due date
    closures: tuple  # (date, reason) of closure days there
    made_up: tuple  # (date, "") of make-up working days on weekends there
    unconfirmed_years: tuple  # years of that span the calendar is not confirmed for
    at_risk_from: date  # the working day on which the share of time used reaches the threshold

    @property
    def paused_days(self):
        return sum(days for _pause, days in self.pauses)

    @property
    def extension_days(self):
        return sum(extension.days for extension in self.extensions)

    @property
    def allowed_days(self):
        """Working days the office has: the promise plus extensions (pauses are not its time)."""
        return self.promised + self.extension_days

    @property
    def total_days(self):
        return self.promised + self.paused_days + self.extension_days

    @property
    def provisional(self):
        return bool(self.unconfirmed_years)

    @property
    def clock_stopped(self):
        return any(pause.end is None for pause, _days in self.pauses)

    def explanation(self):
        return explain(self)


def _pause_cost(calendar, pause):
    if pause.end is None:
        return 0
    if pause.end < pause.start:
        raise CalendarError(f"A pause cannot end ({pause.end}) before it starts ({pause.start}).")
    return calendar.working_days_between(pause.start, pause.end)


def compute_due_date(
    calendar: BusinessCalendar, start, promised, pauses=(), extensions=(), *, at_risk_share=0.8
):
    """The due date of a period of `promised` working days that started on `start`, with the
    clock stopped during `pauses` and `extensions` granted. See the module docstring."""
    if promised < 1:
        raise CalendarError(f"A promise is at least one working day, not {promised}.")
    if any(extension.days < 0 for extension in extensions):
        raise CalendarError("An extension cannot be negative.")
    costs = tuple((pause, _pause_cost(calendar, pause)) for pause in pauses)
    total = promised + sum(days for _p, days in costs) + sum(e.days for e in extensions)
    day_one = calendar.next_working_day(start)
    due = calendar.add_working_days(day_one, total)
    holidays, closures, made_up = calendar.days_off_between(day_one, due)
    # At risk once `at_risk_share` of the office's own time is used (paused days are not its
    # time, so they push this date back like the due date).
    allowed = total - sum(days for _p, days in costs)
    risk_count = max(1, ceil(allowed * at_risk_share)) + (total - allowed)
    at_risk_from = calendar.add_working_days(day_one, min(risk_count, total))
    return DueDate(
        due=due,
        start=start,
        day_one=day_one,
        promised=promised,
        pauses=costs,
        extensions=tuple(extensions),
        holidays=tuple(holidays),
        closures=tuple(closures),
        made_up=tuple(made_up),
        unconfirmed_years=tuple(calendar.unconfirmed_years(min(start, day_one), due)),
        at_risk_from=at_risk_from,
    )


@dataclass(frozen=True)
class Progress:
    """Where a period stands on `today`: working days left (0 on the due date itself, negative
    once overdue) and whether it is on track, at risk or overdue."""

    state: str  # "on_track", "at_risk", "overdue"
    working_days_left: int

    @property
    def overdue(self):
        return self.state == "overdue"

    @property
    def at_risk(self):
        return self.state == "at_risk"


def progress(calendar: BusinessCalendar, due_date: DueDate, today):
    if today > due_date.due:
        # Every working day after the due date up to today; at least one, even on a Sunday.
        late = calendar.working_days_between(due_date.due + ONE_DAY, today + ONE_DAY)
        return Progress("overdue", -max(1, late))
    left = calendar.working_days_between(today, due_date.due)
    state = "at_risk" if today >= due_date.at_risk_from else "on_track"
    return Progress(state, left)


# The explanation ------------------------------------------------------------------------------


def _day(value):
    return format_when(value, "date")


def explain(due_date: DueDate):
    """One line that says how the date was reached, in the active language, e.g. "Due 12 March
    2026: 10 working days from 24 February 2026; paused 3 working days while we waited for
    your photo; 1 public holiday (Ching Ming Festival)"."""
    parts = []
    head = ngettext(
        "Due %(due)s: %(count)s working day from %(start)s",
        "Due %(due)s: %(count)s working days from %(start)s",
        due_date.promised,
    ) % {"due": _day(due_date.due), "count": due_date.promised, "start": _day(due_date.day_one)}
    if due_date.day_one != due_date.start:
        head += _(" (received on %(date)s, not a working day)") % {"date": _day(due_date.start)}
    parts.append(head)
    for pause, days in due_date.pauses:
        if pause.end is None:
            if pause.reason:
                text = _("the clock is stopped since %(date)s while we wait for %(reason)s")
            else:
                text = _("the clock is stopped since %(date)s while we wait for you")
            parts.append(text % {"date": _day(pause.start), "reason": pause.reason})
            continue
        if pause.reason:
            text = ngettext(
                "paused %(count)s working day while we waited for %(reason)s",
                "paused %(count)s working days while we waited for %(reason)s",
                days,
            )
        else:
            text = ngettext(
                "paused %(count)s working day while we waited for you",
                "paused %(count)s working days while we waited for you",
                days,
            )
        parts.append(text % {"count": days, "reason": pause.reason})
    for extension in due_date.extensions:
        text = ngettext(
            "extended by %(count)s working day: %(reason)s",
            "extended by %(count)s working days: %(reason)s",
            extension.days,
        )
        parts.append(text % {"count": extension.days, "reason": extension.reason})
    if due_date.holidays:
        count = len(due_date.holidays)
        parts.append(
            ngettext("%(count)s public holiday", "%(count)s public holidays", count)
            % {"count": count}
        )
    if due_date.closures:
        count = len(due_date.closures)
        text = ngettext(
            "%(count)s office closure day (%(reasons)s)",
            "%(count)s office closure days (%(reasons)s)",
            count,
        )
        reasons = pgettext("list separator", ", ").join(
            f"{_day(day)} {reason}".strip() for day, reason in due_date.closures
        )
        parts.append(text % {"count": count, "reasons": reasons})
    if due_date.made_up:
        count = len(due_date.made_up)
        text = ngettext(
            "%(count)s make-up working day on a weekend counted (%(dates)s)",
            "%(count)s make-up working days on weekends counted (%(dates)s)",
            count,
        )
        dates = pgettext("list separator", ", ").join(_day(day) for day, _name in due_date.made_up)
        parts.append(text % {"count": count, "dates": dates})
    line = pgettext("clause separator", "; ").join(parts)
    if due_date.provisional:
        years = pgettext("list separator", ", ").join(
            str(year) for year in due_date.unconfirmed_years
        )
        line += _(
            " (provisional: the calendar for %(years)s is not confirmed yet, so holidays may "
            "still change this date)"
        ) % {"years": years}
    return line


__all__ = [
    "CalendarError",
    "DueDate",
    "Extension",
    "Pause",
    "Progress",
    "compute_due_date",
    "explain",
    "progress",
]
