from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "health.records"
    label = "records"
    verbose_name = _("Health records")

    def ready(self):
        from health.fhir.signals import compartments_written

        from . import emergency

        # Break-glass grants add to the patients clinic staff may open (portal.scoping).
        emergency.register()
        compartments_written.connect(_record_changed, dispatch_uid="records-mypage")


def _record_changed(sender, patient_ids, **kwargs):
    """The store wrote into these records: My page's health panel of the linked residents is
    out of date (looked up once the write commits, so the write itself costs no query)."""
    from django.db import transaction

    from health.fhir.models import PatientLink
    from portal.mypage.panels import changed

    def drop():
        links = PatientLink.objects.filter(patient_id__in=list(patient_ids))
        changed(*links.values_list("user_id", flat=True))

    transaction.on_commit(drop)
