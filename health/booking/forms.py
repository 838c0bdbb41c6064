from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from wagtail.admin.forms import WagtailAdminModelForm

from portal.validators import UNREADABLE_NAME, UNREADABLE_REASON, readable, readable_reason

from .conf import generate_weeks, horizon_days
from .models import Clinic, Closure, Dependant, Practitioner, ScheduleRule
from .selectors import clinics_managed_by, dependants_of


def last_plannable_day(today=None):
    """The last day staff can plan closures and schedules for: a year ahead, or further when
    booking or slot generation reach further. Slots, closures and the day arithmetic on them
    all stay far inside what a date can hold (a closure on 9999-12-31 overflowed)."""
    days = max(365, horizon_days(), generate_weeks() * 7)
    return (today or timezone.localdate()) + timedelta(days=days)


def _check_plannable(value, today=None):
    last = last_plannable_day(today)
    if value > last:
        raise forms.ValidationError(
            _("Choose a date on or before %(date)s: it cannot be planned further ahead."),
            code="too_far",
            params={"date": last.isoformat()},
        )


SELF = "self"


class PersonField(forms.ChoiceField):
    """The choices are read only when needed: the resident themself is always one, so a post
    for "self" (most bookings) is valid without reading the household."""

    def valid_value(self, value):
        return value == SELF or super().valid_value(value)


class PersonForm(forms.Form):
    """Who the appointment (or waitlist place) is for: the resident or one of their dependants.

    Only the resident's own active dependants are choices, so a tampered id is a form error.
    The household is read when the form is shown or a dependant is posted, not for "self".
    """

    person = PersonField(label=_("Who is the appointment for?"), widget=forms.RadioSelect)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["person"].choices = self._choices  # a callable: read when iterated
        self.fields["person"].initial = SELF

    @cached_property
    def dependants(self):
        return {str(d.pk): d for d in dependants_of(self.user)}

    def _choices(self):
        profile = getattr(self.user, "profile", None)
        me = (profile.display_name if profile else "") or self.user.email
        return [(SELF, _("Me (%(name)s)") % {"name": me})] + [
            (pk, f"{d.name} ({d.get_relationship_display()})") for pk, d in self.dependants.items()
        ]

    @property
    def dependant(self):
        person = self.cleaned_data.get("person")
        return None if person == SELF else self.dependants.get(person)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        required=False,
        max_length=200,
        help_text=_("This helps the clinic plan. You do not have to give one."),
        validators=[readable_reason],
    )


class DependantForm(forms.ModelForm):
    class Meta:
        model = Dependant
        fields = ["name", "date_of_birth", "relationship"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean_name(self):
        # U+FFFD is what a body that is not valid UTF-8 decodes to; control characters
        # (tabs, line breaks, escapes) do not belong in a name and break letters and lists.
        return readable(self.cleaned_data["name"], UNREADABLE_NAME)

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if value < date(1900, 1, 1):
            raise forms.ValidationError(_("Enter a date of birth after 1900."))
        return value


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        max_length=40,
        help_text=_("Type the code the patient shows, or scan their QR image into this box."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}
        ),
    )


class CloseSlotForm(forms.Form):
    """Staff close one time on the day list; the reason is sent to every affected resident."""

    reason = forms.CharField(
        max_length=200,
        error_messages={"required": _("Give a reason: the residents will read it.")},
    )

    def clean_reason(self):
        return readable(self.cleaned_data["reason"], UNREADABLE_REASON)


CAPACITY_MESSAGE = _("Enter a capacity from 1 to 100.")


class SlotCapacityForm(forms.Form):
    """A new capacity for one time on the day list (missing, not a number or out of range:
    the same message)."""

    capacity = forms.IntegerField(
        min_value=1,
        max_value=100,
        error_messages=dict.fromkeys(
            ("required", "invalid", "min_value", "max_value"), CAPACITY_MESSAGE
        ),
    )


class ClinicScopedAdminForm(WagtailAdminModelForm):
    """Admin forms offer only the clinics (and their practitioners) the staff member runs, so a
    tampered POST for another clinic fails validation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        clinics = clinics_managed_by(self.for_user) if self.for_user else Clinic.objects.none()
        if "clinic" in self.fields:
            self.fields["clinic"].queryset = clinics
        if "practitioner" in self.fields:
            self.fields["practitioner"].queryset = Practitioner.objects.filter(
                clinic__in=clinics, is_active=True
            )


class PractitionerForm(ClinicScopedAdminForm):
    class Meta:
        model = Practitioner
        fields = ["clinic", "name", "role", "is_active"]


class ClinicForm(WagtailAdminModelForm):
    """Clinic staff edit their clinic's details; who is staff is for administrators."""

    class Meta:
        model = Clinic
        fields = [
            "code",
            "name_zh_hant",
            "name_zh_hans",
            "name_en",
            "community",
            "address_zh_hant",
            "address_zh_hans",
            "address_en",
            "latitude",
            "longitude",
            "phone",
            "opening_hours_zh_hant",
            "opening_hours_zh_hans",
            "opening_hours_en",
            "services",
            "cancel_cutoff_hours",
            "reschedule_cutoff_hours",
            "is_active",
            "staff",
        ]
        widgets = {"services": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not (self.for_user and self.for_user.is_superuser):
            for name in ("code", "staff"):
                self.fields.pop(name, None)


class ScheduleRuleForm(ClinicScopedAdminForm):
    class Meta:
        model = ScheduleRule
        fields = [
            "clinic",
            "service",
            "practitioner",
            "weekday",
            "start_time",
            "end_time",
            "slot_minutes",
            "capacity",
            "valid_from",
            "valid_to",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        clinic, service = cleaned.get("clinic"), cleaned.get("service")
        practitioner = cleaned.get("practitioner")
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if clinic and service and not clinic.services.filter(pk=service.pk).exists():
            self.add_error("service", _("This clinic does not offer this service."))
        if clinic and practitioner and practitioner.clinic_id != clinic.pk:
            self.add_error("practitioner", _("This practitioner does not work at this clinic."))
        if start and end and end <= start:
            self.add_error("end_time", _("The end time must be after the start time."))
        valid_from, valid_to = cleaned.get("valid_from"), cleaned.get("valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            self.add_error("valid_to", _("The last day must not be before the first day."))
        return cleaned

    def clean_valid_from(self):
        # A schedule that starts beyond what can be planned is a typo (a year 9999). Its last
        # day may lie further ahead: slots are only made up to the generation window, so a
        # far end date means no end, like an empty one.
        value = self.cleaned_data["valid_from"]
        _check_plannable(value)
        return value


class ClosureForm(ClinicScopedAdminForm):
    class Meta:
        model = Closure
        fields = ["clinic", "service", "date", "start_time", "end_time", "reason"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _("Give both a start and an end time, or neither for the whole day.")
            )
        if start and end and end <= start:
            self.add_error("end_time", _("The end time must be after the start time."))
        return cleaned

    def clean_date(self):
        day = self.cleaned_data["date"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError(_("A closure cannot be in the past."), code="past")
        _check_plannable(day, today)
        return day

    def clean_reason(self):
        # Residents read the reason in their messages.
        return readable(self.cleaned_data["reason"], UNREADABLE_REASON)
