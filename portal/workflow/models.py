"""The history of status changes, for any model with a workflow (appointments now; cases and
cards next). The current state stays a column of the model itself, for speed; these rows are
the record of how it got there."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .actors import RESIDENT, STAFF, SYSTEM


class StateChange(models.Model):
    """One transition of one object: who, when, from, to, why, and what the resident reads.

    `model` and `object_id` name the object (no foreign key to ContentType: writing a change
    must not need a lookup first). `resident_text` is the text's source (English) form and is
    translated when it is shown, so a resident reads it in the language they use now.
    """

    class Actor(models.TextChoices):
        RESIDENT = RESIDENT, _("Resident")
        STAFF = STAFF, _("Staff")
        SYSTEM = SYSTEM, _("System")

    model = models.CharField(_("model"), max_length=100)
    object_id = models.CharField(_("object"), max_length=64)
    step = models.CharField(_("step"), max_length=40)
    from_state = models.CharField(_("from"), max_length=40, blank=True)
    to_state = models.CharField(_("to"), max_length=40)
    actor_kind = models.CharField(_("made by"), max_length=10, choices=Actor.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    # A system's or API client's name, or the user's name at the time (users may be deleted).
    actor_label = models.CharField(_("made by (name)"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    # For staff only; never shown to the resident.
    note = models.TextField(_("staff note"), blank=True)
    resident_text = models.CharField(_("what the resident reads"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        indexes = [models.Index(fields=["model", "object_id", "at"], name="workflow_history")]

    def __str__(self):
        return f"{self.model}:{self.object_id} {self.from_state or '∅'} → {self.to_state}"
