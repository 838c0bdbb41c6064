"""Punctuation that follows the reader's language: lists and addresses.

Chinese uses full-width punctuation: a list reads 收件匣、電郵、短訊 and an address
海旁道，海濱社區; English uses a comma and a space. Both separators are translated strings
(docs/glossary.md).
"""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def join_list(items):
    """'Inbox, e-mail, SMS' / '收件匣、電郵、短訊'."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


def address(*parts):
    """'Praya Road, Harbour' / '海旁道，海濱社區': street first, then community."""
    parts = [str(part) for part in parts if part]
    if not parts:
        return ""
    text = parts[0]
    for part in parts[1:]:
        text = _("%(before)s, %(after)s") % {"before": text, "after": part}
    return text
