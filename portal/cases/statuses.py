"""The public status vocabulary: the few plain statuses residents see, mapped from the internal
states officers work with. Each service may reword a status and its "what happens next" text
(`StatusText`); these are the defaults."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PublicStatus(models.TextChoices):
    DRAFT = "draft", _("Draft, not sent")
    RECEIVED = "received", _("Received")
    ACTION_NEEDED = "action_needed", _("We need something from you")
    IN_PROGRESS = "in_progress", _("Being processed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Not approved")
    READY = "ready", _("Ready for you")
    DONE = "done", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


DEFAULT_NEXT_STEP = {
    PublicStatus.DRAFT: _("Your application is saved but not sent. Continue it to send it."),
    PublicStatus.RECEIVED: _(
        "The office will check your application and tell you when it is accepted or if "
        "anything is missing."
    ),
    PublicStatus.ACTION_NEEDED: _(
        "Read the office's message and send what it asks for. The clock is stopped until you do."
    ),
    PublicStatus.IN_PROGRESS: _(
        "The office is working on your application. You will be told when it is decided."
    ),
    PublicStatus.APPROVED: _("Your application is approved. The office is preparing the result."),
    PublicStatus.REJECTED: _(
        "Your application was not approved. The decision gives the reason and how to appeal."
    ),
    PublicStatus.READY: _("Your result is ready. See below how to get it."),
    PublicStatus.DONE: _("This case is completed. Nothing more is needed from you."),
    PublicStatus.WITHDRAWN: _("You withdrew this application. Nothing more will happen."),
}

# Tag colours by meaning, not alone: the tag always carries its words.
TAG_TONE = {
    PublicStatus.DRAFT: "neutral",
    PublicStatus.RECEIVED: "info",
    PublicStatus.ACTION_NEEDED: "warning",
    PublicStatus.IN_PROGRESS: "info",
    PublicStatus.APPROVED: "success",
    PublicStatus.REJECTED: "error",
    PublicStatus.READY: "success",
    PublicStatus.DONE: "neutral",
    PublicStatus.WITHDRAWN: "neutral",
}
