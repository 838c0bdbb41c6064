from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "health.booking"
    label = "booking"
    verbose_name = _("Clinic booking")

    def ready(self):
        from . import scopes, signals, workflows  # noqa: F401  (workflows registers its tables)

        signals.connect()
        scopes.register()
