from django import forms
from django.utils.translation import gettext_lazy as _

from allauth.account.forms import LoginForm as AllauthLoginForm

from portal.validators import readable_name

from .models import Profile, Street, phone_validator


class LoginForm(AllauthLoginForm):
    """allauth's login form with labelled fields; the reset link follows the form instead of
    sitting in the password hint, so Tab goes from e-mail straight to password."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)


class PhoneField(forms.CharField):
    """Accepts spaces and dashes as people type them; stores digits with an optional +."""

    default_validators = [phone_validator]

    def to_python(self, value):
        value = super().to_python(value)
        return "".join(value.split()).replace("-", "")


class GroupedStreetIterator(forms.models.ModelChoiceIterator):
    """Yields streets in <optgroup>s by community; evaluated only when the form renders."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        groups = {}
        for street in self.queryset:
            groups.setdefault(street.community, []).append(self.choice(street))
        for community in sorted(groups, key=lambda c: c.code):
            yield (community.name, sorted(groups[community], key=lambda choice: choice[1]))

    def __len__(self):
        return self.queryset.count() + (1 if self.field.empty_label is not None else 0)


class StreetChoiceField(forms.ModelChoiceField):
    """Streets grouped under their community, so the list works without JavaScript."""

    iterator = GroupedStreetIterator

    def __init__(self, **kwargs):
        kwargs.setdefault("empty_label", _("Choose your street"))
        super().__init__(queryset=Street.objects.select_related("community"), **kwargs)

    def label_from_instance(self, obj):
        return obj.name


class ProfileForm(forms.ModelForm):
    street = StreetChoiceField(
        required=False,
        label=_("Home street"),
        help_text=_(
            "Your community follows from your street. It decides which local news you see."
        ),
    )
    phone = PhoneField(
        required=False,
        max_length=20,
        label=_("Mobile phone"),
        help_text=_("Needed for text messages, e.g. +85291234567."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = Profile
        fields = [
            "display_name",
            "phone",
            "street",
            "preferred_language",
            "notify_email",
            "notify_sms",
        ]
        help_texts = {
            "display_name": _("How the portal addresses you."),
        }
        widgets = {
            "display_name": forms.TextInput(attrs={"autocomplete": "name"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The name goes into letters, lists and e-mails: the one rule for readable names.
        self.fields["display_name"].validators.append(readable_name)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("notify_sms") and not cleaned.get("phone"):
            self.add_error("phone", _("Enter a mobile phone number to receive text messages."))
        return cleaned
