from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "health.booking"
    label = "booking"
    verbose_name = _("Clinic booking")

    def ready(self):
        from health.fhir import projections

        from . import fhir, signals

        signals.connect()
        # Schedule, Slot, Appointment and clinic Locations in the /fhir/ API, read-only.
        projections.register(fhir.BookingProjection())
