"""Booking's settings and the booking window, in local time."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone


# Settings ---------------------------------------------------------------------------------------
def max_upcoming():
    return settings.BOOKING_MAX_UPCOMING


def horizon_days():
    return settings.BOOKING_HORIZON_DAYS


def generate_weeks():
    return settings.BOOKING_GENERATE_WEEKS


def offer_hours():
    return settings.BOOKING_WAITLIST_OFFER_HOURS


def reminder_time():
    hours, minutes = settings.BOOKING_REMINDER_TIME.split(":")
    return time(int(hours), int(minutes))


# Time and the booking window -------------------------------------------------------------------
def current_time(now):
    return now or timezone.now()


def horizon_end(now=None):
    """Bookings are open up to and including the last day of the horizon (local time)."""
    last_day = timezone.localdate(current_time(now)) + timedelta(days=horizon_days())
    return local_midnight(last_day + timedelta(days=1))


def local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def absolute_url(path):
    return f"{settings.PORTAL_BASE_URL}{path}"
