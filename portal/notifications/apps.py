from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "portal.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check)

        # Every app declares its notification kinds in notification_kinds.py.
        autodiscover_modules("notification_kinds")
