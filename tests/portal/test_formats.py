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
