from django import forms
from django.utils.translation import gettext_lazy as _

from portal.validators import readable_name, readable_reason, readable_text


class PatientSearchForm(forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    identifier = forms.CharField(label=_("Identifier"), required=False)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _number(label, low, high):
    return forms.DecimalField(
        label=label, required=False, min_value=low, max_value=high, decimal_places=1
    )


class VitalSignsForm(forms.Form):
    systolic = _number(_("Systolic blood pressure (mmHg)"), 40, 300)
    diastolic = _number(_("Diastolic blood pressure (mmHg)"), 20, 200)
    weight = _number(_("Weight (kg)"), 0.5, 400)
    height = _number(_("Height (cm)"), 20, 260)
    heart_rate = _number(_("Heart rate (/min)"), 20, 300)
    glucose = _number(_("Blood glucose (mg/dL)"), 10, 1000)

    def clean(self):
        data = super().clean()
        if (data.get("systolic") is None) != (data.get("diastolic") is None):
            raise forms.ValidationError(_("Enter both blood pressure values, or neither."))
        if not any(v is not None for v in data.values()):
            raise forms.ValidationError(_("Enter at least one measurement."))
        return data


class CodedEntryForm(forms.Form):
    text = forms.CharField(label=_("Description"), max_length=200, validators=[readable_name])
    code = forms.CharField(
        label=_("Code (SNOMED CT or CVX)"),
        max_length=20,
        required=False,
        help_text=_("Optional."),
    )
    date = forms.DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class EncounterNoteForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for visit"), max_length=200, required=False, validators=[readable_reason]
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea, max_length=10000, validators=[readable_text]
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("FHIR Bundle or NDJSON file"))


class EmergencyAccessForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient id or identifier"),
        max_length=64,
        help_text=_("The patient id, or an identifier such as the ID card number."),
        validators=[readable_name],
    )
    reason = forms.CharField(
        label=_("Why you need this record now"),
        min_length=10,
        max_length=300,
        help_text=_("Recorded with your name and shown to the patient in their access log."),
        validators=[readable_reason],
        widget=forms.Textarea(attrs={"rows": 3}),
    )
