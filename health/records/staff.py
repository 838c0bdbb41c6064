"""Clinic staff writes: small forms' data turned into validated FHIR resources.

Each function builds the FHIR JSON, stores it through health.fhir.store (R4B validation,
new version, search index) with the staff member's Requester, and audits it in the same
transaction.
"""

import json

from django.db import transaction
from django.utils import timezone

from health.fhir import store
from health.fhir.access import requester_for_user

from .audit import AuditTrail

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# (form field, LOINC code, display, UCUM unit)
VITALS = [
    ("weight", "29463-7", "Body weight", "kg"),
    ("height", "8302-2", "Body height", "cm"),
    ("heart_rate", "8867-4", "Heart rate", "/min"),
    ("glucose", "2339-0", "Glucose [Mass/volume] in Blood", "mg/dL"),
]


def _concept(system, code, display):
    coding = {"display": display}
    if code:
        coding = {"system": system, "code": code, "display": display}
    return {"coding": [coding], "text": display}


def _instant(moment):
    return store.format_instant(moment or timezone.now())


def _save(staff_user, bodies, action="create"):
    requester = requester_for_user(staff_user)
    trail = AuditTrail(requester)
    out = []
    with transaction.atomic():
        for body in bodies:
            result = store.create_resource(body["resourceType"], body, requester=requester)
            resource = result.resource
            trail.add(action, resource.resource_type, resource.resource_id, resource.patient_id)
            out.append(resource)
        trail.flush()
    return out


def add_vital_signs(staff_user, patient_id, data, when=None):
    """Observations for the vital signs filled in; blood pressure as one panel."""
    subject = {"reference": f"Patient/{patient_id}"}
    category = [_concept(OBS_CATEGORY, "vital-signs", "Vital Signs")]
    moment = _instant(when)
    bodies = []
    if data.get("systolic") is not None and data.get("diastolic") is not None:
        bodies.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": category,
                "code": _concept(LOINC, "85354-9", "Blood pressure panel"),
                "subject": subject,
                "effectiveDateTime": moment,
                "component": [
                    {
                        "code": _concept(LOINC, code, display),
                        "valueQuantity": {
                            "value": float(data[key]),
                            "unit": "mm[Hg]",
                            "system": UCUM,
                            "code": "mm[Hg]",
                        },
                    }
                    for key, code, display in (
                        ("systolic", "8480-6", "Systolic blood pressure"),
                        ("diastolic", "8462-4", "Diastolic blood pressure"),
                    )
                ],
            }
        )
    for key, code, display, unit in VITALS:
        if data.get(key) is None:
            continue
        bodies.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": category
                if key != "glucose"
                else [_concept(OBS_CATEGORY, "laboratory", "Laboratory")],
                "code": _concept(LOINC, code, display),
                "subject": subject,
                "effectiveDateTime": moment,
                "valueQuantity": {
                    "value": float(data[key]),
                    "unit": unit,
                    "system": UCUM,
                    "code": unit,
                },
            }
        )
    return _save(staff_user, bodies)


def add_condition(staff_user, patient_id, text, code="", onset=None):
    body = {
        "resourceType": "Condition",
        "clinicalStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
        ),
        "verificationStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
        ),
        "category": [
            _concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "problem-list-item",
                "Problem List Item",
            )
        ],
        "code": _concept(SNOMED, code, text),
        "subject": {"reference": f"Patient/{patient_id}"},
        "recordedDate": _instant(None),
    }
    if onset:
        body["onsetDateTime"] = onset.isoformat()
    return _save(staff_user, [body])[0]


def add_allergy(staff_user, patient_id, text, code="", criticality=""):
    body = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"
        ),
        "verificationStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "confirmed",
            "Confirmed",
        ),
        "code": _concept(SNOMED, code, text),
        "patient": {"reference": f"Patient/{patient_id}"},
        "recordedDate": _instant(None),
    }
    if criticality:
        body["criticality"] = criticality
    return _save(staff_user, [body])[0]


def add_immunization(staff_user, patient_id, text, code="", date=None):
    body = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": _concept("http://hl7.org/fhir/sid/cvx", code, text),
        "patient": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": (date or timezone.localdate()).isoformat(),
        "primarySource": True,
    }
    return _save(staff_user, [body])[0]


def add_encounter_note(staff_user, patient_id, note, reason=""):
    """An ambulatory Encounter with the staff member's note attached as a DocumentReference."""
    import base64

    now = _instant(None)
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": now, "end": now},
    }
    if reason:
        encounter["reasonCode"] = [{"text": reason}]
    with transaction.atomic():
        saved = _save(staff_user, [encounter])[0]
        document = {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": _concept(LOINC, "11506-3", "Progress note"),
            "subject": {"reference": f"Patient/{patient_id}"},
            "date": now,
            "description": reason or "Clinic note",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(note.encode()).decode(),
                        "title": reason or "Clinic note",
                    }
                }
            ],
            "context": {"encounter": [{"reference": f"Encounter/{saved.resource_id}"}]},
        }
        _save(staff_user, [document])
    return saved


# Where "entered in error" is written for each correctable type.
_ERROR_STATUS = {
    "Observation": ("status", "entered-in-error"),
    "Immunization": ("status", "entered-in-error"),
    "Condition": (
        "verificationStatus",
        _concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "entered-in-error",
            "Entered in Error",
        ),
    ),
    "AllergyIntolerance": (
        "verificationStatus",
        _concept(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "entered-in-error",
            "Entered in Error",
        ),
    ),
}


def mark_entered_in_error(staff_user, resource_type, resource_id, expected_version):
    """Correct a mistaken entry: a new version flagged entered-in-error (If-Match guarded)."""
    if resource_type not in _ERROR_STATUS:
        raise ValueError(f"{resource_type} cannot be marked entered-in-error here")
    requester = requester_for_user(staff_user)
    with transaction.atomic():
        current = store.read_resource(resource_type, resource_id, requester=requester)
        body = json.loads(current.body)
        element, value = _ERROR_STATUS[resource_type]
        body[element] = value
        if resource_type == "Condition":
            body.pop("clinicalStatus", None)  # con-5: no clinical status when entered in error
        result = store.update_resource(
            resource_type,
            resource_id,
            body,
            requester=requester,
            if_match=f'W/"{expected_version}"',
        )
        trail = AuditTrail(requester)
        trail.add(
            "update", resource_type, resource_id, result.resource.patient_id, "entered-in-error"
        )
        trail.flush()
    return result.resource
