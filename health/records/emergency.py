"""Break-glass: clinic staff open the record of a patient their clinics do not know.

Clinic staff see the patients their clinics know (portal.scoping, PATIENTS). When someone
else's patient needs care now (a visitor taken ill at the clinic), a staff member names the
patient (the Patient id or an identifier such as the ID card number) and gives a reason; the
record is open to them for RECORDS_EMERGENCY_ACCESS_HOURS. The grant is a row of its own and
an audit row carrying the reason, so the resident's "Who viewed my record" and a review of
emergency openings both show it; every read afterwards is audited by the store as usual.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from health.fhir.access import requester_for_user
from health.fhir.errors import FhirError
from health.fhir.models import Resource
from health.fhir.search import build_search
from portal import scoping

from .models import EmergencyAccess


class EmergencyAccessError(Exception):
    """The record could not be opened; the message is shown to the staff member."""


def hours():
    return getattr(settings, "RECORDS_EMERGENCY_ACCESS_HOURS", 12)


def open_patient_ids(user, *, now=None):
    """The Patient ids opened to this user by a grant still running (a scoping source)."""
    return EmergencyAccess.objects.filter(
        user=user, expires_at__gt=now or timezone.now()
    ).values_list("patient_id", flat=True)


def find_patient(text):
    """The one Patient id that `text` names (its id, or an identifier's value), or raise."""
    text = text.strip()
    rows = Resource.objects.filter(resource_type="Patient", deleted=False)
    ids = list(rows.filter(resource_id=text).values_list("resource_id", flat=True)[:1])
    if not ids:
        try:
            search = build_search("Patient", [("identifier", text)])
        except FhirError:  # a value the identifier parameter cannot take
            search = None
        if search is not None:
            ids = list(search.queryset.values_list("resource_id", flat=True)[:2])
    if not ids:
        raise EmergencyAccessError(_("No patient has this id or identifier."))
    if len(ids) > 1:
        raise EmergencyAccessError(
            _("Several patients have this identifier. Use the patient id instead.")
        )
    return ids[0]


def grant(user, patient_text, reason, *, now=None):
    """Open the record `patient_text` names to `user` for a while; returns the grant."""
    patient_id = find_patient(patient_text)
    now = now or timezone.now()
    requester = requester_for_user(user)
    if requester.patient_scope is None:
        raise EmergencyAccessError(_("You may open every record already."))
    with transaction.atomic(), requester.audit.writing() as audit:
        access = EmergencyAccess.objects.create(
            user=user,
            patient_id=patient_id,
            reason=reason,
            expires_at=now + timedelta(hours=hours()),
        )
        audit.add(
            "read", "Patient", patient_id, patient_id, detail=f"emergency access: {reason}"[:500]
        )
    return access


def register():
    scoping.register_subjects(scoping.PATIENTS, open_patient_ids)
