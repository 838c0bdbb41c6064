from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "portal.cases"
    label = "cases"
    verbose_name = _("Service cases")

    def ready(self):
        from . import (
            lifecycle,  # noqa: F401  (registers the case's transition table)
            scopes,
            signals,  # noqa: F401  (the calendar's change signal)
        )

        scopes.register()
