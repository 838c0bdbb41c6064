from django import forms
from django.utils.translation import gettext_lazy as _

from .channels import CHANNELS
from .kinds import INBOX


def channel_label(name):
    return _("In my inbox") if name == INBOX else CHANNELS[name].label


class KindPreferencesForm(forms.Form):
    """One group of checkboxes per notification kind the resident may turn off.

    Built from the registry, so a kind an app adds appears here without a change to this
    form. Unticking every box turns the kind off.
    """

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = {}
        for kind, chosen in choices:
            if not kind.optional:
                continue
            name = self.field_name(kind)
            self.kinds[name] = kind
            self.fields[name] = forms.MultipleChoiceField(
                label=kind.label,
                help_text=kind.description or None,
                required=False,
                choices=[
                    (channel, channel_label(channel))
                    for channel in (INBOX, *kind.external_channels)
                ],
                initial=sorted(chosen),
                widget=forms.CheckboxSelectMultiple,
            )

    @staticmethod
    def field_name(kind):
        return "kind_" + kind.name.replace(".", "__")

    def kind_choices(self):
        """{kind name: set of channels} from the cleaned data."""
        return {
            kind.name: set(self.cleaned_data.get(name) or ()) for name, kind in self.kinds.items()
        }

    def groups(self):
        """[(group label, [bound fields])] in registry order, for the template."""
        grouped = {}
        for name, kind in self.kinds.items():
            grouped.setdefault(str(kind.group), []).append(self[name])
        return list(grouped.items())
