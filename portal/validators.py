"""Validators shared by every form that takes text a person will read: names and reasons.

One rule for all of them (profile display names, household members, cancel and closure
reasons, slot closures, case extensions and filing, a record's entries): no control characters
(NUL, escapes, line breaks) and no U+FFFD. Long free text (case messages and answers, a
clinician's note) may keep its line breaks and tabs: `readable_text`.
"""

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _


def unreadable(value):
    """True when text holds control characters (NUL, escapes, line breaks) or U+FFFD (what a
    body that is not valid UTF-8 decodes to): they do not belong in names and reasons, break
    letters and lists, and PostgreSQL refuses NUL outright."""
    return any(char == "\ufffd" or unicodedata.category(char) == "Cc" for char in value)


UNREADABLE_REASON = _("The reason contains characters that cannot be read. Please type it again.")
UNREADABLE_NAME = _("The name contains characters that cannot be read. Please type it again.")


def readable(value, message):
    """`value`, or a form error with `message` when it holds characters nobody can read."""
    if unreadable(value):
        raise forms.ValidationError(message, code="unreadable")
    return value


def readable_name(value):
    """A name (a person's, a system's) a form may store: a field `validators=[...]` entry."""
    readable(value, UNREADABLE_NAME)


def readable_reason(value):
    """A reason or short message a form may store: a field `validators=[...]` entry."""
    readable(value, UNREADABLE_REASON)


UNREADABLE_TEXT = _("The text contains characters that cannot be read. Please type it again.")


def readable_text(value):
    """Long text a form may store: line breaks and tabs allowed, other control characters not."""
    if unreadable(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise forms.ValidationError(UNREADABLE_TEXT, code="unreadable")
