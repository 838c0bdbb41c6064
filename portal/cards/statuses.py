"""What a resident reads about each status: the tag's tone and what happens next."""

from django.utils.translation import gettext_lazy as _

from .models import ApplicationState, CardState

S = ApplicationState

TONES = {
    S.DRAFT: "neutral",
    S.SUBMITTED: "info",
    S.CORRECTION: "warning",
    S.RESUBMITTED: "info",
    S.APPROVED: "info",
    S.IN_PRODUCTION: "info",
    S.READY: "success",
    S.COLLECTED: "neutral",
    S.WITHDRAWN: "neutral",
    CardState.ACTIVE: "success",
    CardState.BLOCKED: "error",
}

NEXT_STEPS = {
    S.DRAFT: _("Check your answers and send the application."),
    S.SUBMITTED: _("The office checks your photo and details."),
    S.CORRECTION: _("Correct your application as the office asks, and send it again."),
    S.RESUBMITTED: _("The office checks your corrected application."),
    S.APPROVED: _("Your card will be made with the next production batch."),
    S.IN_PRODUCTION: _("Your card is being made. We will tell you when it is ready to collect."),
    S.READY: _("Collect your card at %(office)s by %(date)s. Bring your identity card."),
    S.COLLECTED: _("Nothing more to do. If you lose your card, report it at once."),
    S.WITHDRAWN: _("Nothing more to do. You can apply again at any time."),
}


def tone(state):
    return TONES.get(state, "neutral")


def next_step(application):
    from portal.dates import format_when

    text = NEXT_STEPS.get(application.state, "")
    if application.state == S.READY:
        return text % {
            "office": application.collection_point.name,
            "date": format_when(application.collect_by, "date") if application.collect_by else "",
        }
    return text
