"""Clinic staff writes: small forms' data turned into validated FHIR resources.

Each function builds the FHIR JSON and stores it through health.fhir.store (R4B validation,
new version, search index) with the staff member's Requester; the store audits it in the
same transaction.
"""

import base64
import json

from django.db import transaction
from django.utils import timezone

from health.fhir import store
from health.fhir.access import requester_for_user
from health.fhir.errors import NotFound, PreconditionFailed
from health.fhir.search import search_page
from health.fhir.wire import format_instant

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
BP_PANEL = "85354-9"
NOTE_TYPE = "11506-3"
NOTE_CONTENT_TYPE = "text/plain; charset=utf-8"
# (form field, LOINC code, display) of the blood pressure panel's components
BP_COMPONENTS = (
    ("systolic", "8480-6", "Systolic blood pressure"),
    ("diastolic", "8462-4", "Diastolic blood pressure"),
)
# The vital signs form fields one stored Observation holds, by its LOINC code.
VITAL_FIELDS = {BP_PANEL: ("systolic", "diastolic")} | {
    code: (key,) for key, code, _display, _unit in VITALS
}


def _concept(system, code, display):
    coding = {"display": display}
    if code:
        coding = {"system": system, "code": code, "display": display}
    return {"coding": [coding], "text": display}


def _instant(moment):
    return format_instant(moment or timezone.now())


def _save(staff_user, bodies):
    requester = requester_for_user(staff_user)
    with transaction.atomic(), requester.audit.writing():
        return [
            store.create_resource(body["resourceType"], body, requester=requester).resource
            for body in bodies
        ]


def vital_sign_bodies(patient_id, data, moment):
    """Observations for the vital signs filled in; blood pressure as one panel."""
    subject = {"reference": f"Patient/{patient_id}"}
    category = [_concept(OBS_CATEGORY, "vital-signs", "Vital Signs")]
    bodies = []
    if data.get("systolic") is not None and data.get("diastolic") is not None:
        bodies.append(
            {
                "resourceType": "Observation",
                "status": "final",
                "category": category,
                "code": _concept(LOINC, BP_PANEL, "Blood pressure panel"),
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
                    for key, code, display in BP_COMPONENTS
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
    return bodies


def add_vital_signs(staff_user, patient_id, data, when=None):
    return _save(staff_user, vital_sign_bodies(patient_id, data, _instant(when)))


def condition_body(patient_id, text, code="", onset=None):
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
    return body


def add_condition(staff_user, patient_id, text, code="", onset=None):
    return _save(staff_user, [condition_body(patient_id, text, code, onset)])[0]


def allergy_body(patient_id, text, code="", criticality=""):
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
    return body


def add_allergy(staff_user, patient_id, text, code="", criticality=""):
    return _save(staff_user, [allergy_body(patient_id, text, code, criticality)])[0]


def immunization_body(patient_id, text, code="", date=None):
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": _concept("http://hl7.org/fhir/sid/cvx", code, text),
        "patient": {"reference": f"Patient/{patient_id}"},
        "occurrenceDateTime": (date or timezone.localdate()).isoformat(),
        "primarySource": True,
    }


def add_immunization(staff_user, patient_id, text, code="", date=None):
    return _save(staff_user, [immunization_body(patient_id, text, code, date)])[0]


def encounter_body(patient_id, reason, moment):
    """An ambulatory Encounter for a staff note."""
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": {"start": moment, "end": moment},
    }
    if reason:
        encounter["reasonCode"] = [{"text": reason}]
    return encounter


def note_document_body(patient_id, encounter_id, note, reason, moment):
    """The staff member's note, a DocumentReference attached to its Encounter."""
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": _concept(LOINC, NOTE_TYPE, "Progress note"),
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": moment,
        "description": reason or "Clinic note",
        "content": [
            {
                "attachment": {
                    "contentType": NOTE_CONTENT_TYPE,
                    "data": base64.b64encode(note.encode()).decode(),
                    "title": reason or "Clinic note",
                }
            }
        ],
        "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
    }


def add_encounter_note(staff_user, patient_id, note, reason=""):
    """An ambulatory Encounter with the staff member's note attached as a DocumentReference."""
    now = _instant(None)
    with transaction.atomic():
        saved = _save(staff_user, [encounter_body(patient_id, reason, now)])[0]
        document = note_document_body(patient_id, saved.resource_id, note, reason, now)
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
    with transaction.atomic(), requester.audit.writing():
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
            detail="entered-in-error",
        )
    return result.resource


# Entry kinds staff can correct, by the resource type their entries are listed as.
EDITABLE = {
    "vitals": "Observation",
    "condition": "Condition",
    "allergy": "AllergyIntolerance",
    "immunization": "Immunization",
    "note": "Encounter",  # with its note, a DocumentReference
}
# The elements each staff form owns: an edit replaces them with what the add builder makes
# and keeps the rest of the stored resource.
FORM_ELEMENTS = {
    "Observation": ("valueQuantity", "component"),
    "Condition": ("code", "onsetDateTime"),
    "AllergyIntolerance": ("code",),
    "Immunization": ("vaccineCode", "occurrenceDateTime"),
    "Encounter": ("reasonCode",),
    "DocumentReference": ("description", "content"),
}


def _codes(concept):
    return [c.get("code") for c in (concept or {}).get("coding") or [] if c.get("code")]


def _text(concept):
    concept = concept or {}
    if concept.get("text"):
        return concept["text"]
    return next((c["display"] for c in concept.get("coding") or [] if c.get("display")), "")


def vital_code(body):
    """The LOINC code of a vital signs Observation the staff form can edit, else None."""
    return next((code for code in _codes(body.get("code")) if code in VITAL_FIELDS), None)


def _attachment(document):
    return ((document.get("content") or [{}])[0]).get("attachment") or {}


def _is_staff_note(document):
    attachment = _attachment(document)
    return (
        NOTE_TYPE in _codes(document.get("type"))
        and attachment.get("contentType", "").startswith("text/plain")
        and "data" in attachment
    )


def entry_bodies(kind, patient_id, data, stored):
    """The FHIR bodies a staff form's data makes, for the stored bodies it corrects: the
    same builders as the add forms."""
    if kind == "vitals":
        code = vital_code(stored[0])
        moment = stored[0].get("effectiveDateTime") or _instant(None)
        data = {key: data.get(key) for key in VITAL_FIELDS[code]}
        bodies = vital_sign_bodies(patient_id, data, moment)
        return [next(b for b in bodies if vital_code(b) == code)]
    if kind == "condition":
        return [condition_body(patient_id, data["text"], data["code"], data["date"])]
    if kind == "allergy":
        return [allergy_body(patient_id, data["text"], data["code"])]
    if kind == "immunization":
        return [immunization_body(patient_id, data["text"], data["code"], data["date"])]
    encounter, document = stored
    moment = document.get("date") or _instant(None)
    return [
        encounter_body(patient_id, data["reason"], moment),
        note_document_body(patient_id, encounter["id"], data["note"], data["reason"], moment),
    ]


def form_initial(kind, stored):
    """The staff form's values for the stored bodies of an entry."""
    body = stored[0]
    if kind == "note":
        data = _attachment(stored[1]).get("data", "")
        return {
            "reason": ((body.get("reasonCode") or [{}])[0]).get("text", ""),
            "note": base64.b64decode(data).decode("utf-8", "replace"),
        }
    if kind == "vitals":
        initial = {}
        keys = {code: key for key, code, _display in BP_COMPONENTS}
        for component in body.get("component") or []:
            for code in _codes(component.get("code")):
                if code in keys:
                    initial[keys[code]] = (component.get("valueQuantity") or {}).get("value")
        fields = VITAL_FIELDS[vital_code(body)]
        if len(fields) == 1:
            initial[fields[0]] = (body.get("valueQuantity") or {}).get("value")
        return initial
    concept = body.get("vaccineCode") if kind == "immunization" else body.get("code")
    when = body.get("occurrenceDateTime") or body.get("onsetDateTime") or ""
    return {
        "text": _text(concept),
        "code": next(iter(_codes(concept)), ""),
        "date": when[:10] if kind != "allergy" else None,
    }


def _read_entry(requester, kind, patient_id, resource_id, detail):
    """The stored rows of an editable entry of this patient (an Encounter and its note for
    "note"); NotFound otherwise."""
    resource_type = EDITABLE[kind]
    current = store.read_resource(resource_type, resource_id, requester=requester, detail=detail)
    body = json.loads(current.body)
    rows = [current]
    if kind == "note":
        page = search_page(
            "DocumentReference",
            [("patient", patient_id), ("encounter", f"Encounter/{resource_id}"), ("_count", "10")],
            requester,
            count_total=False,
            action="read",
            detail=detail,
        )
        rows += [r for r in page.matches if _is_staff_note(json.loads(r.body))][:1]
    if (
        current.patient_id != patient_id
        or (kind == "vitals" and vital_code(body) is None)
        or (kind == "note" and len(rows) != 2)
    ):
        raise NotFound(f"{resource_type}/{resource_id} is not an editable entry of this patient")
    return rows


def note_encounter_ids(requester, patient_id, limit=100):
    """Ids of this patient's Encounters that carry a staff note (so can be edited)."""
    page = search_page(
        "DocumentReference",
        [("patient", patient_id), ("type", f"{LOINC}|{NOTE_TYPE}"), ("_count", str(limit))],
        requester,
        count_total=False,
        action="read",
        detail="record page",
    )
    ids = set()
    for row in page.matches:
        document = json.loads(row.body)
        if _is_staff_note(document):
            for ref in (document.get("context") or {}).get("encounter") or []:
                ids.add(ref.get("reference", "").removeprefix("Encounter/"))
    return ids


def version_token(rows):
    """The versions an edit form was loaded from, one hidden value ("3" or "3.1")."""
    return ".".join(str(row.version_id) for row in rows)


def load_entry(staff_user, kind, patient_id, resource_id):
    """(stored bodies, version token) of an editable entry of this patient; audited."""
    requester = requester_for_user(staff_user)
    with requester.audit.collecting():
        rows = _read_entry(requester, kind, patient_id, resource_id, "staff edit form")
    return [json.loads(row.body) for row in rows], version_token(rows)


def edit_entry(staff_user, kind, patient_id, resource_id, data, expected_version):
    """Correct an entry's values: new versions, If-Match guarded with the versions the form
    was loaded from (stale or missing -> PreconditionFailed, nothing changed)."""
    expected = str(expected_version or "").split(".")
    requester = requester_for_user(staff_user)
    with transaction.atomic(), requester.audit.writing():
        rows = _read_entry(requester, kind, patient_id, resource_id, "staff edit")
        if len(expected) != len(rows) or not all(v.isascii() and v.isdigit() for v in expected):
            raise PreconditionFailed("Missing or invalid version")
        stored = [json.loads(row.body) for row in rows]
        saved = []
        for row, body, fresh, version in zip(
            rows, stored, entry_bodies(kind, patient_id, data, stored), expected, strict=True
        ):
            body.pop("meta", None)
            body.pop("text", None)  # the narrative would describe the old values
            for element in FORM_ELEMENTS[row.resource_type]:
                body.pop(element, None)
                if element in fresh:
                    body[element] = fresh[element]
            result = store.update_resource(
                row.resource_type,
                row.resource_id,
                body,
                requester=requester,
                if_match=f'W/"{version}"',
                detail="staff edit",
            )
            saved.append(result.resource)
    return saved[0]
