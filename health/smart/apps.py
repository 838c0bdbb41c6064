from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartConfig(AppConfig):
    name = "health.smart"
    label = "smart"
    verbose_name = _("Connected health apps")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from health.fhir import access, capability

        from . import authentication, discovery

        access.register_authenticator(authentication.authenticate)
        capability.register_security(discovery.capability_security)
