from django import forms
from django.utils.translation import gettext_lazy as _


class LinkRecordForm(forms.Form):
    code = forms.CharField(
        label=_("Activation code"),
        max_length=20,
        help_text=_("The code from your clinic, for example ABCD-EFGH-JKMN."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        help_text=_("As registered at the clinic."),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
