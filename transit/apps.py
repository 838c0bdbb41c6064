from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransitConfig(AppConfig):
    name = "transit"
    verbose_name = _("Public transport")

    def ready(self):
        from . import notices  # noqa: F401  (connects the alerts_stored receiver)
