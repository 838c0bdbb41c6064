"""`{% load clinical_terms %}` then `{{ item.label|term }}`: a code's name in the reader's
language, or its original words inside `<span lang="…">` when the table has no translation.
(Django turns other objects into plain strings before escaping them, so the mark-up needs the
filter.) Anything that is not a terminology Label passes through as it is."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def term(value):
    html = getattr(value, "__html__", None)
    if html is None:
        return value
    return mark_safe(html())  # noqa: S308 - Label.__html__ escapes the text itself
