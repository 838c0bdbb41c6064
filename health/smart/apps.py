from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartConfig(AppConfig):
    name = "health.smart"
    label = "smart"
    verbose_name = _("Connected health apps")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import pre_save

        from corsheaders.signals import check_request_enabled
        from oauth2_provider.models import get_application_model

        from health.fhir import access, capability

        from . import authentication, cors, discovery

        access.register_authenticator(authentication.authenticate)
        capability.register_security(discovery.capability_security)
        check_request_enabled.connect(cors.cors_allowed, dispatch_uid="smart-cors")
        pre_save.connect(
            cors.follow_redirect_uris, sender=get_application_model(), dispatch_uid="smart-origins"
        )
