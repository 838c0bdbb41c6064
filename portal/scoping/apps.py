from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScopingConfig(AppConfig):
    name = "portal.scoping"
    label = "scoping"
    verbose_name = _("Staff scope")

    def ready(self):
        from . import reports

        # Wagtail's reports (site history) list log entries by the scope too.
        reports.install()
