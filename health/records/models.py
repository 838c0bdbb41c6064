"""The resident's side of health records: account links to Patients, and the access audit."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PatientLink(models.Model):
    """A portal account linked to a Patient resource of the FHIR store.

    The resident may read that Patient's compartment (and nothing else) through the API and
    the record pages.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patient_links"
    )
    patient_id = models.CharField(_("patient id"), max_length=64)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "patient_id"], name="records_link_unique"),
        ]
        indexes = [models.Index(fields=["patient_id"], name="records_link_patient")]
        verbose_name = _("patient link")
        verbose_name_plural = _("patient links")

    def __str__(self):
        return f"{self.user} → Patient/{self.patient_id}"


class AuditEvent(models.Model):
    """One access to health data: who, in which role, when, what, about which patient."""

    class Action(models.TextChoices):
        READ = "read", _("viewed")
        VREAD = "vread", _("viewed an earlier version")
        SEARCH = "search", _("searched")
        HISTORY = "history", _("viewed the history")
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        DELETE = "delete", _("deleted")
        EXPORT = "export", _("exported")

    occurred_at = models.DateTimeField(_("when"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    token = models.ForeignKey(
        "fhir.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text so the trail still says who it was after a user or token is deleted.
    actor = models.CharField(_("who"), max_length=150)
    role = models.CharField(_("role"), max_length=32)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    resource_type = models.CharField(_("resource type"), max_length=64, blank=True)
    resource_id = models.CharField(_("resource id"), max_length=64, blank=True)
    patient_id = models.CharField(_("patient id"), max_length=64, blank=True)
    # How many resources one row stands for (a search page, a whole imported Bundle).
    count = models.PositiveIntegerField(default=1)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["patient_id", "-occurred_at"], name="records_audit_patient")
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.resource_type}"


class ActivationCode(models.Model):
    """A one-time code from the clinic that lets a resident link their account to a Patient.

    Only a keyed hash of the code is stored. A code expires, is used once, and is spent
    after too many wrong birth dates.
    """

    patient_id = models.CharField(_("patient id"), max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")

    def __str__(self):
        return f"Patient/{self.patient_id} ({self.created_at:%Y-%m-%d})"


class LinkAttempt(models.Model):
    """A resident's try at entering an activation code, for rate limiting."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    attempted_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["user", "attempted_at"], name="records_attempt_user")]

    def __str__(self):
        return f"{self.user} {self.attempted_at:%Y-%m-%d %H:%M}"
