"""The business calendar as data: days that differ from the plain week, and confirmed years.

A weekday is a working day and a weekend day is not (the rest days are the setting
WORKCALENDAR_WEEKEND_DAYS), unless a `CalendarDay` says otherwise. `CalendarYear` records
whether staff have checked a year against the official announcement: until they do, due dates
that fall in it are provisional.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import LocalizedNameMixin

FIRST_YEAR, LAST_YEAR = 2000, 2200


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(
        _("year"),
        unique=True,
        validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)],
    )
    confirmed = models.BooleanField(
        _("confirmed"),
        default=False,
        help_text=_(
            "Tick once this year's holidays and make-up working days have been checked against "
            "the official announcement. Until then every due date in this year is shown as "
            "provisional."
        ),
    )
    note = models.CharField(
        _("note"),
        max_length=200,
        blank=True,
        help_text=_("For example the announcement the year was checked against."),
    )
    seeded_from = models.CharField(_("seeded from"), max_length=20, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self):
        return str(self.year)


class CalendarDay(LocalizedNameMixin):
    """One date that is not an ordinary day of the week."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday (offices closed)")
        WORKING_DAY = "working_day", _("Make-up working day (offices open on a weekend)")
        CLOSURE = "closure", _("Office closure (for example typhoon signal No. 8)")

    class Source(models.TextChoices):
        SEEDED = "seeded", _("Seeded from the holiday schedule")
        STAFF = "staff", _("Entered by staff")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.STAFF, editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        indexes = [models.Index(fields=["kind", "date"])]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}"
