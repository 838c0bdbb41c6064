"""Health records' part of "download all my data": the record as a FHIR Bundle, a readable
HTML summary, and the record's access log. Reads go through the resident's own access rules
and are audited as an export, like the record's own download."""

import csv
import io

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from health.fhir.errors import FhirError
from health.fhir.models import AuditEvent
from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from . import labels, services


def _fhir_base():
    return settings.FHIR_BASE_URL or f"{settings.PORTAL_BASE_URL}/fhir"


def _summary_html(user, patient_id):
    from health.fhir.access import requester_for_user
    from health.fhir.patient_operations import summary_document
    from health.terminology.services import Terms

    from .views import _patient_name, _summary_line

    requester = requester_for_user(user)
    with requester.audit.collecting():
        document = summary_document(patient_id, requester, _fhir_base())
    resources = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    patient = document["entry"][1]["resource"]
    sections = []
    terms = Terms()
    for part in document["entry"][0]["resource"]["section"]:
        items = [
            _summary_line(resources[ref["reference"]], terms)
            for ref in part.get("entry", [])
            if ref["reference"] in resources
        ]
        sections.append({"title": labels.summary_section_title(part), "items": items})
    return render_to_string(
        "records/export/summary.html",
        {
            "language": translation.get_language(),
            "patient_name": _patient_name(patient),
            "birth_date": services.parse_birth_date(patient.get("birthDate")),
            "generated": timezone.now(),
            "summary_sections": sections,
        },
    )


def _access_log_csv(patient_id):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["when", "who", "role", "action", "resource_type", "resource_id", "count"])
    events = AuditEvent.objects.filter(patient_id=patient_id).order_by("occurred_at", "pk")
    for event in events.iterator(chunk_size=2000):
        writer.writerow(
            [
                event.occurred_at.isoformat(),
                event.actor,
                event.role,
                event.action,
                event.resource_type,
                event.resource_id,
                event.count,
            ]
        )
    return out.getvalue()


@register_export_part("health", _("Health record, summary and who viewed it"), order=50)
def export_health_record(user, archive):
    patient_id = services.linked_patient_id(user)
    if patient_id is None:
        archive.write_text("health/README.txt", "No health record is linked to this account.\n")
        return
    from portal.notifications.recipients import recipient_language_code

    try:
        archive.write_text(
            "health/record.fhir.json", services.everything_bundle(user, patient_id, _fhir_base())
        )
        with translation.override(recipient_language_code(user)):
            archive.write_text("health/summary.html", _summary_html(user, patient_id))
    except FhirError:  # the Patient was deleted meanwhile
        archive.write_text(
            "health/README.txt", "The linked health record is no longer available.\n"
        )
        return
    archive.write_text("health/access-log.csv", _access_log_csv(patient_id))


@register_closure_rule("health", order=50)
class RecordOnClosure:
    """The record belongs to the clinic (the law keeps it): only the account's link goes.
    The audit trail stays as it is."""

    def describe(self, user):
        from health.fhir.models import PatientLink

        if not PatientLink.objects.filter(user=user).exists():
            return []
        return [
            _(
                "Your health record stays with your clinic, as the law requires, but is no "
                "longer linked to an account. The record of who looked at it is kept."
            )
        ]

    def apply(self, user, now):
        from health.fhir.models import PatientLink

        PatientLink.objects.filter(user=user).delete()
