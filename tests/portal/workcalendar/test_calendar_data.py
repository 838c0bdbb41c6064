"""The calendar as data: seeding from `holidays`, staff edits in the admin with a history, and
the change signal that the apps above listen to."""

import importlib
from datetime import date

from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from wagtail.models import ModelLogEntry

import pytest

from portal.accounts import roles
from portal.workcalendar.models import CalendarDay, CalendarYear
from portal.workcalendar.services import business_calendar, seed_year
from portal.workcalendar.signals import calendar_changed
from tests.factories import StaffFactory, UserFactory, with_totp
from tests.portal.workcalendar.factories import ClosureDayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, years, **kwargs):
        seen.append(set(years))

    calendar_changed.connect(receiver)
    yield seen
    calendar_changed.disconnect(receiver)


def test_seeding_mainland_china_brings_holidays_and_make_up_working_days(
    django_capture_on_commit_callbacks, changes
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_calendar", "2026", "--region", "CN")
    spring = CalendarDay.objects.get(date=date(2026, 2, 17))
    assert spring.kind == CalendarDay.Kind.HOLIDAY and spring.source == CalendarDay.Source.SEEDED
    assert "春節" in spring.name_zh_hant and "春节" in spring.name_zh_hans
    assert "Spring Festival" in spring.name_en
    made_up = CalendarDay.objects.filter(kind=CalendarDay.Kind.WORKING_DAY).values_list(
        "date", flat=True
    )
    assert set(made_up) == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    year = CalendarYear.objects.get(year=2026)
    assert year.seeded_from == "CN" and not year.confirmed  # seeding is not checking
    assert changes == [{2026}]  # one announcement for the whole year
    # Every seeded day is in the audit trail.
    assert (
        ModelLogEntry.objects.filter(
            content_type__model="calendarday", action="wagtail.create"
        ).count()
        == CalendarDay.objects.count()
    )

    calendar = business_calendar()
    assert calendar.is_working_day(date(2026, 2, 14)) and not calendar.is_working_day(
        date(2026, 2, 17)
    )


def test_reseeding_keeps_staff_days_and_changes_nothing_twice(settings):
    settings.WORKCALENDAR_REGION = "HK"
    seed_year(2026)
    typhoon = ClosureDayFactory(date=date(2026, 9, 16))
    moved = CalendarDay.objects.get(date=date(2026, 7, 1))
    moved.source = CalendarDay.Source.STAFF
    moved.name_en = "Establishment Day (as announced)"
    moved.save()
    assert seed_year(2026) == (0, 0, 0)
    typhoon.refresh_from_db()
    moved.refresh_from_db()
    assert moved.name_en == "Establishment Day (as announced)"
    assert typhoon.kind == CalendarDay.Kind.CLOSURE


def test_seeding_can_confirm_and_refuses_bad_years(settings):
    call_command("seed_calendar", "2026", "--region", "TW", "--confirm")
    assert CalendarYear.objects.get(year=2026).confirmed
    assert business_calendar().is_confirmed(2026)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_calendar", "1066")


def test_staff_day_changes_announce_the_year(django_capture_on_commit_callbacks, changes):
    with django_capture_on_commit_callbacks(execute=True):
        CalendarDay.objects.create(
            date=date(2027, 8, 2), kind=CalendarDay.Kind.CLOSURE, name_en="Black rainstorm"
        )
    assert changes == [{2027}]


def case_officer():
    grant = importlib.import_module("portal.workcalendar.migrations.0002_case_officer_permissions")
    grant.grant(apps, None)
    officer = with_totp(StaffFactory(groups=[roles.CASE_OFFICERS]))
    from django.contrib.auth.models import Group, Permission

    Group.objects.get(name=roles.CASE_OFFICERS).permissions.add(
        Permission.objects.get(codename="access_admin")
    )
    return officer


def test_an_officer_adds_a_typhoon_closure_in_the_admin_and_it_is_in_the_history(client):
    officer = case_officer()
    client.force_login(officer)
    response = client.post(
        reverse("calendar_days:add"),
        {
            "date": "2026-09-16",
            "kind": "closure",
            "name_zh_hant": "八號颱風信號",
            "name_zh_hans": "八号台风信号",
            "name_en": "Typhoon signal No. 8",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    day = CalendarDay.objects.get(date=date(2026, 9, 16))
    assert day.source == CalendarDay.Source.STAFF
    entry = ModelLogEntry.objects.get(object_id=str(day.pk), action="wagtail.create")
    assert entry.user == officer
    history = client.get(reverse("calendar_days:history", args=[day.pk]))
    assert history.status_code == 200
    # A second entry for the same date is a form error, not a server error.
    again = client.post(
        reverse("calendar_days:add"),
        {
            "date": "2026-09-16",
            "kind": "holiday",
            "name_zh_hant": "x",
            "name_zh_hans": "x",
            "name_en": "x",
        },
    )
    assert again.status_code == 200
    # Confirming a year is for administrators.
    year = CalendarYear.objects.create(year=2026)
    response = client.post(
        reverse("calendar_years:edit", args=[year.pk]), {"year": 2026, "confirmed": "on"}
    )
    assert response.status_code in {302, 403}
    year.refresh_from_db()
    assert not year.confirmed


def test_residents_cannot_reach_the_calendar_admin(client):
    client.force_login(UserFactory())
    assert client.get(reverse("calendar_days:index")).status_code in {302, 403}
