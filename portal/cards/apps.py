from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "portal.cards"
    label = "cards"
    verbose_name = _("Social security cards")

    def ready(self):
        from . import scopes, workflows  # noqa: F401  (workflows registers its tables)

        scopes.register()
