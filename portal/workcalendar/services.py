"""The business calendar's rules: reading it for the arithmetic, seeding it, confirming years.

from portal.workcalendar.services import business_calendar
from portal.workcalendar.periods import compute_due_date

calendar = business_calendar()          # two queries, whatever the number of cases
due = compute_due_date(calendar, accepted_on, service.promised_days, pauses, extensions)
due.due, due.provisional, due.explanation()
"""

import logging
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import translation

from wagtail.log_actions import log

from .models import CalendarDay, CalendarYear
from .signals import _SUPPRESS, calendar_changed
from .workdays import BusinessCalendar

logger = logging.getLogger(__name__)

# Regions the calendar can be seeded for, with the `holidays` class, the categories of days
# off, and the language of its names for each interface language.
REGIONS = {
    "CN": ("China", ("public",), {"zh_hant": "zh_TW", "zh_hans": "zh_CN", "en": "en_US"}),
    "HK": ("HongKong", ("public",), {"zh_hant": "zh_HK", "zh_hans": "zh_CN", "en": "en_HK"}),
    "TW": ("Taiwan", ("public",), {"zh_hant": "zh_TW", "zh_hans": "zh_CN", "en": "en_US"}),
}


def weekend_days():
    days = frozenset(getattr(settings, "WORKCALENDAR_WEEKEND_DAYS", (5, 6)))
    if not days <= set(range(7)) or len(days) >= 7:
        raise ImproperlyConfigured("WORKCALENDAR_WEEKEND_DAYS: weekday numbers 0-6, not all")
    return days


def calendar_region():
    region = str(getattr(settings, "WORKCALENDAR_REGION", "HK")).upper()
    if region not in REGIONS:
        raise ImproperlyConfigured(
            f"WORKCALENDAR_REGION must be one of {', '.join(REGIONS)}, not {region!r}"
        )
    return region


def business_calendar():
    """The calendar as it is in the database now: two queries."""
    language = translation.get_language()
    holidays, closures, working = {}, {}, set()
    rows = CalendarDay.objects.values_list(
        "date", "kind", "name_zh_hant", "name_zh_hans", "name_en"
    )
    index = {"zh_hant": 2, "zh_hans": 3, "en": 4}[_suffix(language)]
    for row in rows:
        day, kind, name = row[0], row[1], row[index]
        if kind == CalendarDay.Kind.HOLIDAY:
            holidays[day] = name
        elif kind == CalendarDay.Kind.CLOSURE:
            closures[day] = name
        else:
            working.add(day)
    confirmed = frozenset(
        CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True)
    )
    return BusinessCalendar(
        weekend=weekend_days(),
        holidays=holidays,
        closures=closures,
        working_days=frozenset(working),
        confirmed_years=confirmed,
    )


def _suffix(language):
    from portal.accounts.models import language_field_suffix

    return language_field_suffix(language)


def holiday_schedule(region, year):
    """What the `holidays` package knows of `year` in `region`: {date: (kind, names)} where
    names are (zh-Hant, zh-Hans, en). Make-up working days come from the package's
    `weekend_workdays` (mainland China's "调休" Saturdays and Sundays, published there once
    the State Council announces them); a year the package has no announcement for has none."""
    import holidays as holidays_package

    class_name, categories, languages = REGIONS[region]
    country = getattr(holidays_package, class_name)
    by_language = {
        suffix: country(years=year, categories=categories, language=code)
        for suffix, code in languages.items()
    }
    schedule = {}
    for day in sorted(by_language["en"]):
        names = tuple(
            _short(by_language[suffix].get(day, by_language["en"].get(day)))
            for suffix in ("zh_hant", "zh_hans", "en")
        )
        schedule[day] = (CalendarDay.Kind.HOLIDAY, names)
    made_up = sorted(d for d in by_language["en"].weekend_workdays if d.year == year)
    for day in made_up:
        schedule[day] = (CalendarDay.Kind.WORKING_DAY, ("補班日", "补班日", "Make-up working day"))
    return schedule


def _short(name):
    name = " ".join(str(name or "").split())
    return name if len(name) <= 100 else name[:99] + "…"


@transaction.atomic
def seed_year(year, region=None, *, confirm=False, user=None):
    """Fill `year` from the holiday schedule. Days staff entered or changed are kept; seeded
    days that the schedule no longer has are removed. Returns (added, updated, removed).
    The year is marked confirmed only when asked (`confirm`): seeding is not checking."""
    region = region or calendar_region()
    schedule = holiday_schedule(region, year)
    existing = {
        day.date: day
        for day in CalendarDay.objects.select_for_update().filter(
            date__gte=date(year, 1, 1), date__lte=date(year, 12, 31)
        )
    }
    added = updated = removed = 0
    for day, (kind, names) in schedule.items():
        row = existing.get(day)
        if row is not None and row.source == CalendarDay.Source.STAFF:
            continue  # staff's word wins over the package
        fields = {"kind": kind, "name_zh_hant": names[0], "name_zh_hans": names[1]}
        fields["name_en"] = names[2]
        if row is None:
            row = CalendarDay(date=day, source=CalendarDay.Source.SEEDED, **fields)
            setattr(row, _SUPPRESS, True)
            row.save()
            log(row, "wagtail.create", user=user)
            added += 1
        elif any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            setattr(row, _SUPPRESS, True)
            row.save()
            log(row, "wagtail.edit", user=user)
            updated += 1
    for day, row in existing.items():
        if row.source == CalendarDay.Source.SEEDED and day not in schedule:
            log(row, "wagtail.delete", user=user)
            setattr(row, _SUPPRESS, True)
            row.delete()
            removed += 1
    year_row = CalendarYear.objects.filter(year=year).first()
    created = year_row is None
    if created:
        year_row = CalendarYear(year=year)
    year_row.seeded_from = region
    if confirm:
        year_row.confirmed = True
    setattr(year_row, _SUPPRESS, True)
    year_row.save()
    log(year_row, "wagtail.create" if created else "wagtail.edit", user=user)
    if added or updated or removed or confirm or created:
        transaction.on_commit(
            lambda: calendar_changed.send(sender=CalendarDay, years=frozenset({year}))
        )
    return added, updated, removed
