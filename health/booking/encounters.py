"""A completed visit in the resident's health record: the Encounter written to the FHIR store."""

import logging

from django.db import transaction

from .models import AppointmentStatus

logger = logging.getLogger(__name__)


def record_encounter(appointment):
    """Write the Encounter of a completed visit to the FHIR store, once (conditional create on
    its identifier). Dependants have no Patient link yet, so only the resident's own visits
    are recorded. Returns the store's resource, or None when there is no linked Patient."""
    from health.fhir.access import system_requester
    from health.fhir.errors import FhirError
    from health.fhir.models import PatientLink
    from health.fhir.store import create_resource

    from . import fhir

    if appointment.dependant_id or appointment.status != AppointmentStatus.COMPLETED:
        return None
    link = PatientLink.objects.filter(user_id=appointment.resident_id).order_by("pk").first()
    if link is None:
        return None
    body = fhir.encounter_resource(appointment, patient_id=link.patient_id)
    criteria = f"identifier={fhir.ENCOUNTER_IDENTIFIER_SYSTEM}|{fhir.PREFIX}{appointment.pk}"
    try:
        with transaction.atomic():
            return create_resource(
                "Encounter", body, requester=system_requester("booking"), if_none_exist=criteria
            ).resource
    except FhirError:
        # The visit is completed either way; a record the store refuses is for staff to see
        # in the log, not a reason to stop the nurse's day list.
        logger.exception("Could not record the Encounter of appointment %s", appointment.pk)
        return None
