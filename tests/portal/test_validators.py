"""One rule for names and reasons people read (issue 10 §8): no control characters, no line
breaks, no U+FFFD — in every form that takes one; long text keeps its line breaks only."""

from django import forms as django_forms
from django.urls import reverse
from django.utils import translation

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from health.booking.models import AppointmentStatus
from portal.validators import readable_name, readable_reason, readable_text, unreadable
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    ServiceFactory,
    SlotFactory,
)

BAD = ["Mei\nLin", "Mei\r\nLin", "Mei\x00", "Mei\x1b[31m", "Mei\ufffd", "Mei\x07", "Mei\x85Lin"]
GOOD = ["陳大文", "Chan Tai-man", "O'Brien", "Ngô Văn Ánh", "Sick 🤒", "Road works, 3rd floor"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.characters(categories=["Cc"]), st.text(max_size=30))
def test_any_control_character_is_refused_by_every_name_and_reason_validator(a, control, b):
    value = a + control + b
    for validator in (readable_name, readable_reason):
        with pytest.raises(django_forms.ValidationError):
            validator(value)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="\ufffd")))
def test_text_without_control_characters_is_accepted(value):
    assert not unreadable(value)
    readable_name(value)
    readable_reason(value)
    readable_text(value)


def test_long_text_keeps_line_breaks_and_tabs_only():
    readable_text("Line one\r\nLine two\n\tindented")
    for value in ("a\x00b", "a\x1bb", "a\ufffd", "a\x0bb", "a\x0cb"):
        with pytest.raises(django_forms.ValidationError):
            readable_text(value)


def form_fields():
    """Every form where people type a name or a reason (as the view makes it), and the field."""
    from health.booking import forms as booking
    from health.records import admin_forms as records
    from portal.accounts import forms as accounts
    from portal.cases import forms as cases
    from portal.cases.models import Service

    return [
        (booking.CancelForm(), "reason"),
        (booking.CloseSlotForm(), "reason"),
        (booking.DependantForm(), "name"),
        (records.CodedEntryForm(), "text"),
        (records.EncounterNoteForm(), "reason"),
        (cases.ExtensionForm(), "reason"),
        (cases.WindowFindForm(services=Service.objects.none()), "query"),
        (accounts.ProfileForm(), "display_name"),
    ]


def clean(form, field, value):
    """What the form makes of `value` in `field`: its field's validators, then clean_<field>."""
    value = form.fields[field].clean(value)
    check = getattr(form, f"clean_{field}", None)
    if check is not None:
        form.cleaned_data = {field: value}
        value = check()
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD)
def test_every_name_and_reason_field_refuses_what_nobody_can_read(value):
    with translation.override("en"):
        for form, field in form_fields():
            with pytest.raises(
                django_forms.ValidationError, match="cannot be read|Null characters"
            ):
                clean(form, field, value)


@pytest.mark.django_db
@pytest.mark.parametrize("value", GOOD)
def test_names_and_reasons_in_any_script_are_accepted(value):
    for form, field in form_fields():
        assert clean(form, field, value) == value


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["Sorry\nI can't", "Busy\x00", "\x1b[2J", "x\ufffd"])
def test_cancel_reason_with_control_characters_is_a_form_error(resident_client, resident, reason):
    """Issue 10 §8: the cancel reason took control characters and line breaks."""
    service = ServiceFactory()
    slot = SlotFactory(clinic=ClinicFactory(services=[service]), service=service)
    appointment = AppointmentFactory(slot=slot, resident=resident)
    resident_client.cookies["portal_language"] = "en"
    response = resident_client.post(
        reverse("booking:cancel", args=[appointment.pk]), {"reason": reason}
    )
    assert response.status_code == 200
    assert "The reason contains characters that cannot be read" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


@pytest.mark.django_db
def test_clinicians_note_keeps_its_line_breaks_but_not_escapes():
    from health.records.admin_forms import EncounterNoteForm

    assert EncounterNoteForm({"note": "BP fine.\r\nReview in 3 months."}).is_valid()
    form = EncounterNoteForm({"note": "BP\x1b[31m fine", "reason": "Check-up\nagain"})
    assert not form.is_valid()
    assert set(form.errors) == {"note", "reason"}
