"""Dates in sentences and headings, written the way each language writes them.

Django's `date` filter takes either a fixed format name (DATE_FORMAT, ...) or one format
string for every language, and "l j F Y" in Chinese reads "星期二 24 十一月 2026" where a
resident expects "2026年11月24日（星期二）". Templates load this library and name the
format instead:

    {% load portal_dates %}
    {{ slot.start|when:"weekday_datetime" }}

The active language picks the string (the recipient's, while a notification is written).
Aware datetimes are shown in the current time zone, as the `date` filter does.
"""

from django import template
from django.utils import dateformat, timezone
from django.utils.translation import get_language

register = template.Library()

NAMED_FORMATS = {
    "en": {
        "date": "j F Y",  # 24 November 2026
        "weekday_date": "l j F Y",  # Tuesday 24 November 2026
        "datetime": "j F Y H:i",  # 24 November 2026 09:00
        "weekday_datetime": "l j F Y, H:i",  # Tuesday 24 November 2026, 09:00
        "short_weekday_datetime": "D j M Y, H:i",  # Tue 24 Nov 2026, 09:00
        "short_weekday_time": "D j M, H:i",  # Tue 24 Nov, 09:00
        "day_month": "j M",  # 24 Nov
        "day_month_year": "j M Y",  # 24 Nov 2026
    },
    "zh": {
        "date": "Y年n月j日",
        "weekday_date": "Y年n月j日（l）",
        "datetime": "Y年n月j日 H:i",
        "weekday_datetime": "Y年n月j日（l）H:i",
        "short_weekday_datetime": "Y年n月j日（D）H:i",
        "short_weekday_time": "n月j日（D）H:i",
        "day_month": "n月j日",
        "day_month_year": "Y年n月j日",
    },
}


def named_format(name, language=None):
    """The format string called `name` in `language` (default: the active one)."""
    language = (language or get_language() or "zh-hant").lower()
    formats = NAMED_FORMATS["en" if language.startswith("en") else "zh"]
    try:
        return formats[name]
    except KeyError:
        raise ValueError(f"No date format named {name!r}: one of {sorted(formats)}") from None


def format_when(value, name):
    if not value:
        return ""
    if hasattr(value, "tzinfo") and timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, named_format(name))


@register.filter(name="when")
def when_filter(value, name):
    return format_when(value, name)
