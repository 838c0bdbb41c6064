"""The resident's side of health records: activation codes that link accounts to Patients.

The links themselves and the access audit live in the FHIR layer (health.fhir.models), which
enforces and writes them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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


class EmergencyAccess(models.Model):
    """Break-glass: a clinic staff member opened the record of a patient their clinics do not
    know, giving a reason. Open for `RECORDS_EMERGENCY_ACCESS_HOURS`; every read under it is
    audited by the store as usual, and the grant itself (who, whose record, why, until when)
    stays as the record of the decision for review."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
    )
    patient_id = models.CharField(_("patient id"), max_length=64)
    reason = models.CharField(_("reason"), max_length=300)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("until"))

    class Meta:
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
        indexes = [models.Index(fields=["user", "expires_at"], name="records_emergency_user")]

    def __str__(self):
        return f"{self.user} · Patient/{self.patient_id} · {self.granted_at:%Y-%m-%d %H:%M}"
