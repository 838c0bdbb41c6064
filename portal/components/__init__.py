"""The portal's page components: one look for the same thing on every page of every app.

Each component has its own template in `portal/templates/components/`, its own stylesheet in
`portal/static/css/components/` (all of them listed in MEDIA, which base.html links on every
page with `{% component_media %}`) and one way in: a tag of the `components` template library.
Load it with `{% load components %}`; the tags and what they take:

`{% status_tag label tone %}`
    The state of something, as an adjective ("Booked", "Cancelled", "Waiting"), never a link or
    a button. `tone` is one of TONES and only adds colour: the label alone must say it all.

`{% summary_list %}{% summary_row key %}value{% endsummary_row %}…{% endsummary_list %}`
    Facts as key and value pairs (a `<dl>`). `summary_row` takes `action_url` and
    `action_label` for a "Change" link; its hidden text names the row for screen readers.
    `{% summary_list compact=True %}` drops the row lines inside a card or panel.

`{% appointment_list entries empty=text %}`
    Dated items with their status, soonest first as given: a list of AppointmentEntry. Apps
    turn their own objects into entries (booking: the `appointment_entries` filter).

`{% what_happens_next %}…{% endwhat_happens_next %}`
    The section after a confirmation that says what comes next. Takes `title` (default "What
    happens next") and `heading_level` (default 2).

`{% notification_banner kind=… title=… %}…{% endnotification_banner %}`
    Something the user needs to know that is not the page's own content, placed before the
    page's h1. `kind="success"` (the outcome of what they just did: announced at once) or
    `"important"` (the default).

`{% error_summary form %}`
    A form's errors at the top of the page, each linked to its field; nothing when the form is
    valid or unbound. For problems that are not one form's (answers missing on a "check your
    answers" page) the block `{% error_summary_list title=… %}` holds the `<li>` items itself.

The status history timeline is built with the workflow (portal/workflow) and joins these once
it is on main.
"""

from dataclasses import dataclass
from datetime import datetime

from django.forms import Media

# Every component's stylesheet, linked once on every page (small files, cached for good under
# their hashed names).
COMPONENTS = (
    "status_tag",
    "summary_list",
    "appointment_list",
    "what_happens_next",
    "notification_banner",
    "error_summary",
)
MEDIA = Media(css={"all": [f"css/components/{name}.css" for name in COMPONENTS]})

# Colours of a status tag. The label carries the meaning; the tone only repeats it.
TONES = ("neutral", "info", "success", "warning", "error")


@dataclass(frozen=True)
class AppointmentEntry:
    """One row of `{% appointment_list %}`.

    `start` is shown as the weekday, date and time and links to `url`; `title` and `place` say
    what and where; `person` whom it is for when that is not the reader; `status` and `tone`
    make the status tag; `note` (linked to `note_url` when given) says what became of it, such
    as the time it was moved to.
    """

    start: datetime
    url: str
    title: str
    place: str = ""
    person: str = ""
    status: str = ""
    tone: str = "neutral"
    note: str = ""
    note_url: str = ""
