"""Forms: the application form built from a service's `FormField` rows, and document uploads.

Answers are stored as JSON keyed by each field's `key`; a choice is stored as its position
("1", "2", ...), so an answer given in Chinese reads correctly in English.
"""

from datetime import date

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

import filetype

from portal.accounts.models import Community, Street, phone_validator
from portal.validators import readable_name, readable_reason, readable_text

from .identity import validate_id_number
from .models import FormField

# Type name → (MIME type, extensions); checked on the file's content, not its name.
DOCUMENT_TYPES = {
    "pdf": ("application/pdf", (".pdf",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
    "png": ("image/png", (".png",)),
}


def max_upload_bytes():
    return int(getattr(settings, "CASES_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))


def sniff_document(upload):
    """The type name of an uploaded file from its first bytes, or None if it is not one of
    DOCUMENT_TYPES (a renamed .exe is not a PDF)."""
    upload.seek(0)
    head = upload.read(262)
    upload.seek(0)
    kind = filetype.guess(head)
    for name, (mime, _extensions) in DOCUMENT_TYPES.items():
        if kind is not None and kind.mime == mime:
            return name
    return None


def validate_document(upload):
    """Refuse files that are too large or not a PDF, JPEG or PNG, with a message that says
    what is allowed."""
    limit = max_upload_bytes()
    if upload.size > limit:
        raise forms.ValidationError(
            _("The file is %(size)s; files can be at most %(limit)s."),
            code="too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )
    if upload.size == 0:
        raise forms.ValidationError(_("The file is empty."), code="empty")
    if sniff_document(upload) is None:
        raise forms.ValidationError(
            _("This file is not a PDF, JPEG or PNG. Please upload one of those."),
            code="wrong_type",
        )


class DocumentField(forms.FileField):
    default_validators = [validate_document]

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"})
        )
        super().__init__(**kwargs)


def _date_field(**kwargs):
    return forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[_sensible_date],
        **kwargs,
    )


def _sensible_date(value):
    if not date(1900, 1, 1) <= value <= date(2100, 12, 31):
        raise forms.ValidationError(_("Enter a date between 1900 and 2100."), code="range")


def build_field(spec: FormField, *, document_on_file=False):
    """The Django form field for one FormField, labelled in the active language. A document
    already uploaded for this draft (`document_on_file`) need not be uploaded again."""
    common = {"label": spec.label, "help_text": spec.help, "required": spec.required}
    kind = spec.field_type
    types = FormField.Type
    if kind == types.TEXT:
        return forms.CharField(max_length=200, validators=[readable_reason], **common)
    if kind == types.TEXTAREA:
        return forms.CharField(
            max_length=4000,
            widget=forms.Textarea(attrs={"rows": 5}),
            validators=[readable_text],
            **common,
        )
    if kind == types.NUMBER:
        return forms.IntegerField(min_value=0, max_value=10**9, **common)
    if kind == types.DATE:
        return _date_field(**common)
    if kind == types.EMAIL:
        return forms.EmailField(max_length=254, **common)
    if kind == types.PHONE:
        return forms.CharField(max_length=16, validators=[phone_validator], **common)
    if kind == types.CHOICE:
        return forms.ChoiceField(choices=spec.choices(), widget=forms.RadioSelect, **common)
    if kind == types.MULTICHOICE:
        return forms.MultipleChoiceField(
            choices=spec.choices(), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == types.CONFIRM:
        return forms.BooleanField(**common)
    if kind == types.DOCUMENT:
        if document_on_file:
            common["required"] = False
        return DocumentField(**common)
    raise ValueError(f"Unknown form field type {kind!r}")


class ApplicationForm(forms.Form):
    """A service's application form. `specs` are its FormField rows in order."""

    def __init__(self, *args, specs, documents_on_file=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.specs = list(specs)
        for spec in self.specs:
            self.fields[spec.key] = build_field(
                spec, document_on_file=spec.key in set(documents_on_file)
            )

    def answers(self):
        """The cleaned answers that go into JSON (documents are stored separately)."""
        result = {}
        for spec in self.specs:
            if spec.field_type == FormField.Type.DOCUMENT:
                continue
            value = self.cleaned_data.get(spec.key)
            if isinstance(value, date):
                value = value.isoformat()
            if value in (None, "", []):
                continue
            result[spec.key] = value
        return result

    def uploads(self):
        return {
            spec.key: self.cleaned_data[spec.key]
            for spec in self.specs
            if spec.field_type == FormField.Type.DOCUMENT and self.cleaned_data.get(spec.key)
        }


def answer_rows(specs, answers, documents=None):
    """(question, answer text) for a summary list, in the active language."""
    rows = []
    documents = documents or {}
    for spec in specs:
        if spec.field_type == FormField.Type.DOCUMENT:
            doc = documents.get(spec.key)
            rows.append((spec, doc.filename if doc else ""))
            continue
        value = answers.get(spec.key)
        if value in (None, "", []):
            rows.append((spec, ""))
            continue
        if spec.has_choices:
            labels = dict(spec.choices())
            values = value if isinstance(value, list) else [value]
            text = pgettext("list separator", ", ").join(labels.get(str(v), str(v)) for v in values)
        elif spec.field_type == FormField.Type.CONFIRM:
            text = str(_("Yes")) if value else str(_("No"))
        else:
            text = str(value)
        rows.append((spec, text))
    return rows


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[readable_text],
    )


class ExtensionForm(forms.Form):
    days = forms.IntegerField(label=_("Working days"), min_value=1, max_value=250)
    reason = forms.CharField(
        label=_("Reason (the resident sees it)"), max_length=300, validators=[readable_reason]
    )


class DocumentUploadForm(forms.Form):
    file = DocumentField(label=_("Document (PDF, JPEG or PNG)"))


class WindowFindForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Service"), queryset=None)
    query = forms.CharField(
        label=_("The resident's ID number or mobile phone"),
        max_length=40,
        required=False,
        validators=[readable_reason],
        help_text=_("Leave empty to file for an applicant who has no account."),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services


class ApplicantForm(forms.Form):
    """Who applies, when they have no account."""

    name = forms.CharField(label=_("Applicant's name"), max_length=80, validators=[readable_name])
    id_number = forms.CharField(
        label=_("ID number"), max_length=20, validators=[validate_id_number]
    )
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=16, required=False, validators=[phone_validator]
    )


class HotlineForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Enquiry or complaint"), queryset=None)
    category = forms.CharField(label=_("Category"), max_length=80, validators=[readable_reason])
    street = forms.ModelChoiceField(
        label=_("Street"), queryset=Street.objects.all(), required=False
    )
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.all(), required=False
    )
    description = forms.CharField(
        label=_("What the caller said"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        validators=[readable_text],
    )
    caller_name = forms.CharField(
        label=_("Caller's name"), max_length=80, required=False, validators=[readable_name]
    )
    phone = forms.CharField(
        label=_("Caller's mobile phone"),
        max_length=16,
        required=False,
        validators=[phone_validator],
        help_text=_("Callers without an account get the reference by SMS."),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("street") and not cleaned.get("community"):
            raise forms.ValidationError(_("Give the street or the community the call is about."))
        return cleaned


class IdentityForm(forms.Form):
    email = forms.EmailField(label=_("The resident's e-mail address (their sign-in)"))
    id_number = forms.CharField(
        label=_("ID number, as on the card you have seen"),
        max_length=20,
        validators=[validate_id_number],
    )


class StepForm(forms.Form):
    """An officer moves a case on: the step (one the table allows from the case's state), a
    reason (required where the step says so: the resident reads it) and a note for staff."""

    step = forms.CharField(max_length=40, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason or message (the resident reads it)"),
        max_length=500,
        required=False,
        validators=[readable_reason],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Note for staff (the resident does not see it)"),
        max_length=2000,
        required=False,
        validators=[readable_text],
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CorrectionForm(forms.Form):
    """What the office needs from the resident. Read in the message, on the case page and in
    the due date's explanation ("paused 3 working days while we waited for …")."""

    message = forms.CharField(
        label=_("What the resident must send or correct"),
        help_text=_(
            "Written so it reads after “while we waited for”, e.g. “a clearer photo of your "
            "ID card”."
        ),
        max_length=200,
        validators=[readable_reason],
    )


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this application. The office will stop working on it."),
        required=True,
    )
