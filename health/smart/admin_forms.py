"""The form superusers register a resident-facing health app with."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from oauth2_provider.models import get_application_model

from . import scopes as smart_scopes

DEFAULT_SCOPES = "patient/*.rs openid fhirUser launch/patient offline_access"


class SmartAppForm(forms.Form):
    name = forms.CharField(
        label=_("App name"),
        max_length=100,
        help_text=_(
            "As residents know it: shown on the consent screen and in their records' access list."
        ),
    )
    description = forms.CharField(
        label=_("What the app does"),
        max_length=300,
        required=False,
        help_text=_("One sentence residents read before they allow the app."),
    )
    client_type = forms.ChoiceField(
        label=_("Kind of app"),
        choices=[
            (
                "public",
                _("Runs on the resident's phone or in the browser (public client, no secret)"),
            ),
            (
                "confidential",
                _("Runs on the app maker's server (confidential client, with a secret)"),
            ),
        ],
        widget=forms.RadioSelect,
        initial="public",
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_(
            "One per line, exactly as the app sends them, e.g. https://app.example/callback"
        ),
    )
    allowed_scopes = forms.CharField(
        label=_("Allowed scopes"),
        max_length=2000,
        initial=DEFAULT_SCOPES,
        help_text=_(
            "Space-separated. Read-only patient scopes (patient/*.rs, patient/Observation.rs, "
            "patient/Observation.read) and openid, fhirUser, launch/patient, offline_access."
        ),
    )

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # The kind of client decides whether it holds a secret: fixed once registered.
            del self.fields["client_type"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name or any(not ch.isprintable() for ch in name):
            raise ValidationError(_("Give the app a readable name."))
        return name

    def clean_allowed_scopes(self):
        words = self.cleaned_data["allowed_scopes"].split()
        wrong = smart_scopes.unsupported(words)
        if wrong:
            raise ValidationError(
                _(
                    "Not a scope a resident's app can have: %(scopes)s. Apps only read one "
                    "patient's record: patient/ scopes with r and s (or read), a resource "
                    "type or *, and openid, fhirUser, launch/patient, offline_access."
                ),
                params={"scopes": ", ".join(wrong)},
            )
        if not smart_scopes.resource_scopes(words):
            raise ValidationError(_("Allow at least one patient/ scope, e.g. patient/*.rs."))
        return " ".join(dict.fromkeys(words))

    def clean_redirect_uris(self):
        uris = list(dict.fromkeys(self.cleaned_data["redirect_uris"].split()))
        if not uris:
            raise ValidationError(_("Give at least one redirect URI."))
        probe = get_application_model()(
            name="probe",
            client_type="public",
            authorization_grant_type="authorization-code",
            redirect_uris=" ".join(uris),
        )
        try:
            probe.clean()
        except ValidationError as error:
            raise ValidationError(
                _("These redirect URIs cannot be used: %(reason)s"),
                params={"reason": " ".join(error.messages)},
            ) from None
        return " ".join(uris)
