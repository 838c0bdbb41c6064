"""Forms of the card pages: the application (personal data, photo, collection point), the
officer's correction request, and the lost-card confirmation."""

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import Street, phone_validator
from portal.cases.identity import normalise, validate_id_number
from portal.validators import readable_name, readable_reason

from . import photos, services


class CollectionPointField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} – {obj.address}" if obj.address else obj.name


class ApplicationForm(forms.Form):
    """Personal data (prefilled from the profile), the photo and where to collect the card.
    A photo already on the application need not be uploaded again."""

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=80,
        validators=[readable_name],
        help_text=_("As on your identity card."),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    id_number = forms.CharField(
        label=_("Identity card number"),
        max_length=24,
        help_text=_("With the check digit in brackets, for example A123456(3)."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=16,
        required=False,
        validators=[phone_validator],
        help_text=_("We send a text message when your card is ready."),
    )
    street = forms.ModelChoiceField(
        label=_("Home street"),
        queryset=Street.objects.select_related("community").order_by("community", "pk"),
        required=False,
    )
    address = forms.CharField(
        label=_("Building, floor and flat"),
        max_length=200,
        required=False,
        validators=[readable_reason],
    )
    collection_point = CollectionPointField(
        label=_("Where will you collect your card?"),
        queryset=services.collection_points(),
        widget=forms.RadioSelect,
        empty_label=None,
        help_text=_("The district service centre or a street office."),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )

    def __init__(self, *args, photo_on_file=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.photo_on_file = photo_on_file
        rules = photos.limits()
        from django.template.defaultfilters import filesizeformat

        self.fields["photo"].help_text = _(
            "A recent colour photo of your face, JPEG or PNG, at most %(size)s, at least "
            "%(width)s × %(height)s pixels."
        ) % {
            "size": filesizeformat(rules["max_bytes"]),
            "width": rules["min_width"],
            "height": rules["min_height"],
        }
        if photo_on_file:
            self.fields["photo"].help_text = _(
                "We have your photo. Upload a new one only to replace it."
            )
        self.photo_info = None

    def clean_id_number(self):
        value = normalise(self.cleaned_data["id_number"])
        validate_id_number(value)
        return value

    def clean_date_of_birth(self):
        value = self.cleaned_data["date_of_birth"]
        if not date(1900, 1, 1) <= value <= timezone.localdate():
            raise forms.ValidationError(
                _("Enter your date of birth: a date in the past, after 1900."), code="range"
            )
        return value

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload:
            if not self.photo_on_file:
                raise forms.ValidationError(
                    _("Upload a photo of your face for the card."), code="required"
                )
            return None
        self.photo_info = photos.check_photo(upload)
        return upload

    def data_for_application(self):
        return {name: self.cleaned_data[name] for name in services.APPLICATION_FIELDS}

    def photo_upload(self):
        upload = self.cleaned_data.get("photo")
        return (upload, self.photo_info) if upload and self.photo_info else None


class CorrectionForm(forms.Form):
    reason = forms.CharField(
        label=_("What should the resident correct?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[readable_reason],
        help_text=_("The resident reads this."),
    )
