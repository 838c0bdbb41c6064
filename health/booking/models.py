"""Clinic booking: clinics, their services and schedules, slots with a capacity, appointments.

Capacity is a transactional invariant kept by the database (see `Slot` and places.py):
a CHECK constraint says `booked + held <= capacity`, and every booking is a conditional
UPDATE, so no interleaving of requests can overbook a slot.
"""

import math
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import (
    Community,
    LocalizedNameMixin,
    language_field_suffix,
    phone_validator,
)

# Check-in codes are read aloud and typed at a counter: no 0/O, 1/I/L look-alikes.
CHECK_IN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CHECK_IN_LENGTH = 8


def new_check_in_code():
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_LENGTH))


def normalise_check_in_code(value):
    """What staff type or scan, reduced to the stored form (spaces, dashes, case ignored)."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


class Service(LocalizedNameMixin):
    """A kind of visit a clinic offers (general practice, vaccination, dental ...)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.TextField(_("description"), blank=True)
    default_slot_minutes = models.PositiveSmallIntegerField(
        _("default slot length (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    is_active = models.BooleanField(_("bookable online"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("clinic service")
        verbose_name_plural = _("clinic services")


class Clinic(LocalizedNameMixin):
    """A community health clinic residents can book at.

    Like the name, the address and the opening hours are kept in each interface language, and
    `address` and `opening_hours` answer in the active one (the reader's page, or the
    recipient's language while an e-mail or .ics is written). The Traditional Chinese address
    is required: it is the district's default language and the text every other language falls
    back to, so a clinic never shows without an address. The Simplified Chinese and English
    texts may be left blank until someone translates them; a blank one shows the Traditional
    Chinese text (`address_language` / `opening_hours_language` name the language of the text
    actually shown, for the page's `lang` attribute). Opening hours are optional in every
    language; when the active language and Traditional Chinese are both blank, the first
    other language that has them is shown rather than nothing.
    """

    # The order in which a text is looked for; the active language is tried first.
    TEXT_FALLBACK_ORDER = ("zh_hant", "zh_hans", "en")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    community = models.ForeignKey(
        Community,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clinics",
        verbose_name=_("community"),
    )
    address_zh_hant = models.CharField(_("address (Traditional Chinese)"), max_length=200)
    address_zh_hans = models.CharField(
        _("address (Simplified Chinese)"),
        max_length=200,
        blank=True,
        help_text=_("Leave empty to show the Traditional Chinese text."),
    )
    address_en = models.CharField(
        _("address (English)"),
        max_length=200,
        blank=True,
        help_text=_("Leave empty to show the Traditional Chinese text."),
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    phone = models.CharField(_("phone"), max_length=16, validators=[phone_validator])
    opening_hours_zh_hant = models.TextField(
        _("opening hours (Traditional Chinese)"),
        blank=True,
        help_text=_("As residents should read it, e.g. Mon–Fri 9:00–17:00."),
    )
    opening_hours_zh_hans = models.TextField(
        _("opening hours (Simplified Chinese)"),
        blank=True,
        help_text=_("Leave empty to show the Traditional Chinese text."),
    )
    opening_hours_en = models.TextField(
        _("opening hours (English)"),
        blank=True,
        help_text=_("Leave empty to show the Traditional Chinese text."),
    )
    services = models.ManyToManyField(
        Service, related_name="clinics", blank=True, verbose_name=_("services offered")
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="booking_clinics",
        blank=True,
        verbose_name=_("staff"),
        help_text=_("Clinic staff who manage this clinic's schedule and day list."),
    )
    cancel_cutoff_hours = models.PositiveSmallIntegerField(
        _("cancel until (hours before)"),
        default=2,
        help_text=_("Residents can cancel online until this many hours before the appointment."),
    )
    reschedule_cutoff_hours = models.PositiveSmallIntegerField(
        _("reschedule until (hours before)"),
        default=24,
        help_text=_("Residents can move an appointment until this many hours before it."),
    )
    is_active = models.BooleanField(_("open for booking"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("clinic")
        verbose_name_plural = _("clinics")

    def localized(self, field):
        """`(language code, text)` of a per-language field (`address`, `opening_hours`) in the
        active language, falling back as the class docstring says; `("", "")` if all blank."""
        active = language_field_suffix()
        for suffix in (active, *(s for s in self.TEXT_FALLBACK_ORDER if s != active)):
            value = getattr(self, f"{field}_{suffix}")
            if value:
                return suffix.replace("_", "-"), value
        return "", ""

    @property
    def address(self):
        return self.localized("address")[1]

    @property
    def address_language(self):
        return self.localized("address")[0]

    @property
    def opening_hours(self):
        return self.localized("opening_hours")[1]

    @property
    def opening_hours_language(self):
        return self.localized("opening_hours")[0]

    def distance_km(self, latitude, longitude):
        """Great-circle distance to a point; good enough to order clinics in one district."""
        lat1, lon1 = math.radians(float(self.latitude)), math.radians(float(self.longitude))
        lat2, lon2 = math.radians(float(latitude)), math.radians(float(longitude))
        a = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 6371.0 * 2 * math.asin(math.sqrt(a))


class Practitioner(models.Model):
    """A doctor, nurse or therapist working at a clinic."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="practitioners", verbose_name=_("clinic")
    )
    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(
        _("role"), max_length=100, blank=True, help_text=_("e.g. Family doctor")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["clinic__code", "name"]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self):
        return f"{self.name} ({self.role})" if self.role else self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class ScheduleRule(models.Model):
    """A recurring weekly session: on this weekday, from..to, slots of N minutes for M people."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="schedule_rules", verbose_name=_("clinic")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="schedule_rules", verbose_name=_("service")
    )
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="schedule_rules",
        verbose_name=_("practitioner"),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    capacity = models.PositiveSmallIntegerField(
        _("people per slot"), default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["clinic__code", "service__sort_order", "weekday", "start_time"]
        verbose_name = _("weekly schedule")
        verbose_name_plural = _("weekly schedules")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="booking_rule_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="booking_rule_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1), name="booking_rule_capacity_positive"
            ),
        ]

    def __str__(self):
        hours = f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"
        return f"{self.clinic} · {self.service} · {self.get_weekday_display()} {hours}"


class Closure(models.Model):
    """A one-off closure (holiday, outage): a whole day, or part of it, for one or all services."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="closures", verbose_name=_("clinic")
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        verbose_name=_("service"),
        help_text=_("Leave empty to close every service."),
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(
        _("from"), null=True, blank=True, help_text=_("Empty: whole day.")
    )
    end_time = models.TimeField(_("until"), null=True, blank=True, help_text=_("Empty: whole day."))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-date", "start_time"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (Q(start_time__isnull=False) & Q(end_time__gt=F("start_time"))),
                name="booking_closure_time_range",
            )
        ]

    def __str__(self):
        return f"{self.clinic} · {self.date:%Y-%m-%d} · {self.reason}"


class ClinicPatient(models.Model):
    """A Patient of the FHIR store registered with a clinic: the clinic's staff may open the
    record (portal.scoping, PATIENTS; see docs/architecture.md). Written when a staff member
    of the clinic creates the Patient; residents who book here are known without a row."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="patients", verbose_name=_("clinic")
    )
    patient_id = models.CharField(_("patient id"), max_length=64)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    class Meta:
        verbose_name = _("registered patient")
        verbose_name_plural = _("registered patients")
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "patient_id"], name="booking_clinicpatient_unique"
            )
        ]

    def __str__(self):
        return f"{self.clinic} · Patient/{self.patient_id}"


class SlotStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Slot(models.Model):
    """A bookable time at a clinic for one service, for up to `capacity` people.

    `booked` counts active appointments, `held` the places promised to waitlist offers that
    have not been answered yet. Both only change through conditional UPDATEs in places.py;
    the CHECK constraints are the last word if any code path ever got that wrong.
    """

    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="slots", verbose_name=_("clinic")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="slots", verbose_name=_("service")
    )
    practitioner = models.ForeignKey(
        Practitioner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
        verbose_name=_("practitioner"),
    )
    rule = models.ForeignKey(
        ScheduleRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slots",
        editable=False,
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=1)
    booked = models.PositiveSmallIntegerField(_("booked"), default=0, editable=False)
    held = models.PositiveSmallIntegerField(_("held for waitlist"), default=0, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=SlotStatus.choices, default=SlotStatus.OPEN
    )
    closed_reason = models.CharField(_("reason closed"), max_length=200, blank=True)

    class Meta:
        # No join in the default ordering: slots are read on every booking.
        ordering = ["start", "pk"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__gte=0), name="booking_slot_booked_nonnegative"
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="booking_slot_held_nonnegative"),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity") - F("held")),
                name="booking_slot_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="booking_slot_end_after_start"
            ),
            # Generation is idempotent: one slot per rule and start time.
            models.UniqueConstraint(fields=["rule", "start"], name="booking_slot_unique_per_rule"),
        ]
        indexes = [
            models.Index(fields=["service", "start"], name="booking_slot_service_start"),
            models.Index(fields=["clinic", "start"], name="booking_slot_clinic_start"),
        ]

    def __str__(self):
        local = timezone.localtime(self.start)
        return f"{self.clinic} · {self.service} · {local:%Y-%m-%d %H:%M}"

    @property
    def free(self):
        return max(0, self.capacity - self.booked - self.held)

    @property
    def is_open(self):
        return self.status == SlotStatus.OPEN


class Dependant(models.Model):
    """Someone in the resident's household they book for (a child, an elderly parent)."""

    class Relationship(models.TextChoices):
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SPOUSE = "spouse", _("Spouse or partner")
        OTHER = "other", _("Other family member")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="dependants",
        verbose_name=_("resident"),
    )
    name = models.CharField(_("full name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    relationship = models.CharField(_("relationship"), max_length=10, choices=Relationship.choices)
    # Removing a dependant keeps their past appointments readable.
    is_active = models.BooleanField(default=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("dependant")
        verbose_name_plural = _("dependants")
        constraints = [
            # A double submit of the household form must not add the same person twice; a
            # removed (inactive) dependant may be added again.
            models.UniqueConstraint(
                fields=["owner", "name", "date_of_birth"],
                condition=models.Q(is_active=True),
                name="booking_dependant_unique_active",
            )
        ]

    def __str__(self):
        return self.name


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("Did not attend")


ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


class Appointment(models.Model):
    """One person's place in a slot; `start`/`end` copy the slot's so overlaps can be excluded."""

    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("slot")
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="appointments",
        verbose_name=_("booked by"),
    )
    # Dependants are only ever hidden (is_active) from the pages; a hard delete happens with
    # the owner's account, and then their appointments go too.
    dependant = models.ForeignKey(
        Dependant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("for"),
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.BOOKED,
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    check_in_code = models.CharField(
        _("check-in code"), max_length=12, unique=True, default=new_check_in_code
    )
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("completed or marked absent at"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    rescheduled_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["start", "pk"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [
            models.Index(fields=["resident", "status", "start"], name="booking_appt_resident"),
            models.Index(fields=["slot", "status"], name="booking_appt_slot_status"),
            models.Index(fields=["status", "start"], name="booking_appt_status_start"),
        ]
        # Overlap between a person's active appointments is excluded on PostgreSQL by an
        # EXCLUDE USING gist constraint created in migration 0002 (Django cannot express it
        # portably); rules.book() also locks the resident's row so SQLite is covered too.

    def __str__(self):
        return f"{self.patient_name} · {self.slot}"

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def patient_name(self):
        if self.dependant_id:
            return self.dependant.name
        profile = getattr(self.resident, "profile", None)
        return (profile.display_name if profile else "") or self.resident.email


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Place offered")
    BOOKED = "booked", _("Booked")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Left the waitlist")


WAITLIST_OPEN_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(models.Model):
    """A resident waiting for a place in a full slot; first come, first offered."""

    slot = models.ForeignKey(
        Slot, on_delete=models.CASCADE, related_name="waitlist", verbose_name=_("slot")
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    dependant = models.ForeignKey(
        Dependant, on_delete=models.CASCADE, null=True, blank=True, related_name="waitlist_entries"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer open until"), null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        constraints = [
            # A person is on a slot's waitlist at most once at a time.
            models.UniqueConstraint(
                F("slot"),
                F("resident"),
                Coalesce(F("dependant"), 0),
                condition=Q(status__in=WAITLIST_OPEN_STATUSES),
                name="booking_waitlist_once_per_person",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "offer_expires_at"], name="booking_waitlist_expiry")
        ]

    def __str__(self):
        return f"{self.resident} · {self.slot}"
