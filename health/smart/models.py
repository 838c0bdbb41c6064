"""A resident's health apps: what superusers registered, what residents connected.

django-oauth-toolkit keeps the OAuth side (its Application, Grant, AccessToken,
RefreshToken and IDToken rows). `SmartApp` adds what SMART needs to each registered
Application (the scopes it may ask for); `Connection` is one resident's consent to one app:
which Patient's record it reaches and with which scopes, and when it was last used.
Tokens are looked up by (user, application) to their Connection, so revoking a connection
deletes its tokens and they stop working at once.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from oauth2_provider.settings import oauth2_settings


class SmartApp(models.Model):
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="smart",
    )
    allowed_scopes = models.TextField(
        _("allowed scopes"),
        help_text=_(
            "Space-separated SMART scopes the app may ask for, e.g. patient/*.rs openid "
            "fhirUser launch/patient offline_access"
        ),
    )
    description = models.CharField(
        _("what the app does"),
        max_length=300,
        blank=True,
        help_text=_("Shown to residents on the consent screen."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("health app")
        verbose_name_plural = _("health apps")

    def __str__(self):
        return self.application.name


class Connection(models.Model):
    """One resident's consent to one app (at most one live per account and app)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="smart_connections"
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="smart_connections",
    )
    patient_id = models.CharField(_("patient id"), max_length=64)
    scopes = models.TextField(_("scopes granted"))
    connected_at = models.DateTimeField(_("connected"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("connected app")
        verbose_name_plural = _("connected apps")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"], name="smart_one_connection_per_app"
            )
        ]

    def __str__(self):
        return f"{self.user_id} → {self.application_id}"
