"""The form a superuser issues an API token for another system with."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .access import parse_scopes
from .models import Resource


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("System name"),
        max_length=100,
        help_text=_("Who will use the token, e.g. Hospital laboratory."),
    )
    scopes = forms.CharField(
        label=_("Scopes"),
        max_length=1000,
        help_text=_("Space-separated SMART scopes, e.g. user/*.rs user/Observation.cruds"),
    )
    patient_id = forms.CharField(
        label=_("Patient id"),
        max_length=64,
        required=False,
        help_text=_("Only for patient/ scopes: the Patient whose record the token may reach."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty for a token that does not expire."),
    )

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name or any(not ch.isprintable() for ch in name):
            raise forms.ValidationError(_("Give the system a readable name."))
        return name

    def clean_scopes(self):
        words = self.cleaned_data["scopes"].split()
        wrong = []
        for word in words:
            try:
                parse_scopes(word)
            except ValueError:
                wrong.append(word)
        if wrong:
            raise forms.ValidationError(
                _(
                    "Not a SMART scope: %(scopes)s. A scope looks like user/*.rs or "
                    "patient/Observation.rs: user, patient or system, a resource type or *, "
                    "and the permissions in c, r, u, d, s order."
                ),
                params={"scopes": ", ".join(wrong)},
            )
        return " ".join(words)

    def clean(self):
        data = super().clean()
        scopes = data.get("scopes")
        patient_id = (data.get("patient_id") or "").strip()
        data["patient_id"] = patient_id
        if scopes is None:
            return data
        for_patient = any(s.context == "patient" for s in parse_scopes(scopes))
        if for_patient and not patient_id:
            self.add_error("patient_id", _("patient/ scopes need the Patient the token is for."))
        elif patient_id and not for_patient:
            self.add_error(
                "patient_id", _("A patient id is only used with patient/ scopes. Leave it empty.")
            )
        elif (
            patient_id
            and not Resource.objects.filter(
                resource_type="Patient", resource_id=patient_id, deleted=False
            ).exists()
        ):
            self.add_error("patient_id", _("There is no Patient with this id."))
        return data
