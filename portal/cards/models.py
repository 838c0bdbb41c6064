"""Social security cards: a resident's application (with its photo and collection point), the
production batches officers make of approved applications, and the cards issued.

Every status of an application or a card changes through `portal.workflow.transition()` with a
step of workflows.py; the state column is never written anywhere else.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import Street
from portal.cases.models import Office
from portal.private_files import PrivateFileStorage


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("Not sent yet")
    SUBMITTED = "submitted", _("Submitted")
    CORRECTION = "correction", _("Correction requested")
    RESUBMITTED = "resubmitted", _("Corrected and sent again")
    APPROVED = "approved", _("Photo and data approved")
    IN_PRODUCTION = "in_production", _("In production")
    READY = "ready", _("Ready for collection")
    COLLECTED = "collected", _("Collected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# An application is open until the card is collected or the application withdrawn; a person
# has at most one open application (a partial unique constraint).
OPEN_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.SUBMITTED,
    ApplicationState.CORRECTION,
    ApplicationState.RESUBMITTED,
    ApplicationState.APPROVED,
    ApplicationState.IN_PRODUCTION,
    ApplicationState.READY,
)
# Waiting for an officer's check of the photo and data.
TO_CHECK_STATES = (ApplicationState.SUBMITTED, ApplicationState.RESUBMITTED)
# The resident may still change or withdraw it.
BEFORE_PRODUCTION_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.SUBMITTED,
    ApplicationState.CORRECTION,
    ApplicationState.RESUBMITTED,
    ApplicationState.APPROVED,
)


class CardState(models.TextChoices):
    ACTIVE = "active", _("Valid")
    BLOCKED = "blocked", _("Blocked")


class PhotoStorage(PrivateFileStorage):
    """Card photos (CARDS_FILES_ROOT), served only to the applicant and the officers of the
    collection point."""

    root_setting = "CARDS_FILES_ROOT"
    served_by = "the application's photo view"


photo_storage = PhotoStorage()


def photo_path(instance, filename):
    extension = ".png" if instance.photo_type == "image/png" else ".jpg"
    return f"photos/{uuid.uuid4().hex}{extension}"


class CardApplication(models.Model):
    """One application for a social security card, first or replacement. The personal data is
    copied from the profile when the form is first shown and then belongs to the application."""

    class Kind(models.TextChoices):
        FIRST = "first", _("First card")
        REPLACEMENT = "replacement", _("Replacement for a lost card")

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="card_applications",
        verbose_name=_("applicant"),
    )
    state = models.CharField(
        _("status"),
        max_length=20,
        choices=ApplicationState.choices,
        default=ApplicationState.DRAFT,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FIRST)
    replaces = models.ForeignKey(
        "Card",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replacements",
        verbose_name=_("replaces card"),
    )
    full_name = models.CharField(_("full name"), max_length=80)
    date_of_birth = models.DateField(_("date of birth"))
    id_number = models.CharField(_("ID number"), max_length=20)
    phone = models.CharField(_("mobile phone"), max_length=16, blank=True)
    street = models.ForeignKey(
        Street,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("home street"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    collection_point = models.ForeignKey(
        Office,
        on_delete=models.PROTECT,
        related_name="card_applications",
        verbose_name=_("collection point"),
    )
    photo = models.FileField(
        _("photo"), storage=photo_storage, upload_to=photo_path, max_length=200, blank=True
    )
    photo_type = models.CharField(_("photo type"), max_length=20, blank=True)
    photo_width = models.PositiveIntegerField(_("photo width"), null=True, blank=True)
    photo_height = models.PositiveIntegerField(_("photo height"), null=True, blank=True)
    batch = models.ForeignKey(
        "ProductionBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("production batch"),
    )
    # What the officer asked to correct, shown on the correction page (also in the history).
    correction_reason = models.CharField(_("correction requested"), max_length=500, blank=True)
    collect_by = models.DateField(_("collect by"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("card application")
        verbose_name_plural = _("card applications")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"],
                condition=Q(state__in=[s.value for s in OPEN_STATES]),
                name="cards_one_open_application",
            )
        ]
        indexes = [
            models.Index(fields=["collection_point", "state"], name="cards_office_state_idx"),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("cards:application", args=[self.pk])

    @property
    def reference(self):
        """Readable and unique: SSC, the year it was started, and its number."""
        year = self.created_at.year if self.created_at else ""
        return f"SSC-{year}-{self.pk or 0:06d}"

    @property
    def is_open(self):
        return self.state in OPEN_STATES


class ProductionBatch(models.Model):
    """Approved applications of one collection point sent to production together; marked ready
    when the cards come back."""

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="card_batches", verbose_name=_("office")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    ready_at = models.DateTimeField(_("ready"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("production batch")
        verbose_name_plural = _("production batches")

    def __str__(self):
        return self.reference

    @property
    def reference(self):
        return f"B-{self.office.code}-{self.pk or 0:05d}"


class Card(models.Model):
    """A card handed to its holder. Reporting it lost blocks it at once."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="cards",
        verbose_name=_("holder"),
    )
    application = models.OneToOneField(
        CardApplication,
        on_delete=models.CASCADE,
        related_name="card",
        verbose_name=_("application"),
    )
    number = models.CharField(_("card number"), max_length=20, unique=True)
    state = models.CharField(
        _("status"), max_length=20, choices=CardState.choices, default=CardState.ACTIVE
    )
    issued_at = models.DateTimeField(_("issued"))
    blocked_at = models.DateTimeField(_("blocked"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("social security card")
        verbose_name_plural = _("social security cards")

    def __str__(self):
        return self.masked_number

    @property
    def masked_number(self):
        return f"•••• {self.number[-4:]}"
