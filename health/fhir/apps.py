from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    name = "health.fhir"
    label = "fhir"
    verbose_name = _("FHIR store")

    def ready(self):
        # $everything and $summary register with the operations registry on import.
        from . import (
            patient_operations,  # noqa: F401
            terminology_operations,  # noqa: F401  (CodeSystem/$lookup)
        )
