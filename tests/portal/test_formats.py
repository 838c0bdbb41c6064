"""Dates read the way the district writes them, in every language."""

from datetime import date, datetime

from django.utils import formats, translation

import pytest


@pytest.mark.parametrize(
    ("language", "short", "long"),
    [
        ("en", "03/04/2026", "3 Apr 2026"),
        ("zh-hant", "2026年4月3日", "2026年4月3日"),
        ("zh-hans", "2026年4月3日", "2026年4月3日"),
    ],
)
def test_day_before_month_in_english_and_chinese_order_in_chinese(language, short, long):
    with translation.override(language):
        assert formats.date_format(date(2026, 4, 3), "SHORT_DATE_FORMAT") == short
        assert formats.date_format(date(2026, 4, 3), "DATE_FORMAT") == long


def test_english_times_use_the_24_hour_clock():
    with translation.override("en"):
        assert formats.time_format(datetime(2026, 4, 3, 14, 5), "TIME_FORMAT") == "14:05"


def test_a_typed_english_date_is_read_day_first():
    from django import forms

    with translation.override("en"):
        field = forms.DateField()
        assert field.clean("03/04/2026") == date(2026, 4, 3)
        assert field.clean("2026-04-03") == date(2026, 4, 3)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Tuesday 24 November 2026, 09:05"),
        ("zh-hant", "2026年11月24日（星期二）09:05"),
        ("zh-hans", "2026年11月24日（星期二）09:05"),
    ],
)
def test_named_formats_follow_the_language(language, expected):
    from django.template import Context, Template
    from django.utils import timezone

    moment = timezone.make_aware(datetime(2026, 11, 24, 9, 5))
    template = Template('{% load portal_dates %}{{ moment|when:"weekday_datetime" }}')
    with translation.override(language):
        assert template.render(Context({"moment": moment})) == expected


def test_an_unknown_format_name_is_a_clear_error():
    from portal.dates import named_format

    with pytest.raises(ValueError, match="No date format named 'weekday'"):
        named_format("weekday")
