from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "health.records"
    label = "records"
    verbose_name = _("Health records")

    def ready(self):
        from . import emergency

        # Break-glass grants add to the patients clinic staff may open (portal.scoping).
        emergency.register()
