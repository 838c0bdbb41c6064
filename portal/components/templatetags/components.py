"""`{% load components %}`: the tags of the portal's page components (see portal.components)."""

import itertools

from django import template
from django.template.loader import get_template

from portal.components import MEDIA, TONES

register = template.Library()

# Heading levels a component may use inside a page (h1 is the page's own).
HEADING_LEVELS = (2, 3, 4)
_ids = itertools.count(1)


def render(name, context):
    """Render one component's own template with exactly the context it documents."""
    return get_template(f"components/{name}.html").render(context)


def _check(value, allowed, what):
    if value not in allowed:
        raise template.TemplateSyntaxError(f"{what} must be one of {allowed}, not {value!r}")
    return value


@register.simple_tag
def component_media():
    """The components' stylesheets, for the head of base.html."""
    return MEDIA.render()


@register.simple_tag
def status_tag(label, tone="neutral"):
    return render("status_tag", {"label": label, "tone": _check(tone, TONES, "A tag's tone")})


@register.simple_block_tag
def summary_list(content, compact=False):
    return render("summary_list", {"rows": content, "compact": compact})


@register.simple_block_tag
def summary_row(content, key, action_url="", action_label=""):
    if bool(action_url) != bool(action_label):
        raise template.TemplateSyntaxError("A summary row's action needs a URL and a label")
    return render(
        "summary_row",
        {"key": key, "value": content, "action_url": action_url, "action_label": action_label},
    )


@register.simple_tag
def appointment_list(entries, empty=""):
    entries = list(entries)
    for entry in entries:
        _check(entry.tone, TONES, "An entry's tone")
    return render("appointment_list", {"entries": entries, "empty": empty})


@register.simple_block_tag
def what_happens_next(content, title="", heading_level=2):
    return render(
        "what_happens_next",
        {
            "content": content,
            "title": title,
            "level": _check(heading_level, HEADING_LEVELS, "A heading level"),
            "id": f"next-steps-{next(_ids)}",
        },
    )


@register.simple_block_tag
def notification_banner(content, kind="important", title=""):
    return render(
        "notification_banner",
        {
            "content": content,
            "kind": _check(kind, ("important", "success"), "A banner's kind"),
            "title": title,
            "id": f"notification-banner-{next(_ids)}",
        },
    )


@register.simple_tag
def error_summary(form):
    return render("error_summary", {"form": form})


@register.simple_block_tag
def error_summary_list(content, title=""):
    return render("error_summary", {"items": content, "title": title})
