"""Demo health records for `manage.py load_demo`: a newcomer's portal shows a real-looking
record straight away.

- Chan Tai Man (the first demo resident) is linked to a record with two years of quarterly
  check-ups (blood pressure, weight, BMI, glucose, HbA1c, cholesterol: every chart has a line),
  two long-term conditions, an allergy, current medicines, vaccinations with the next one due,
  visits and a clinic letter.
- Li Xiaomei has a record that is not linked yet: the command prints an activation code, so
  the linking step can be tried with her account (birth date 1990-07-02).

Everything goes through the FHIR store as one transaction Bundle (validated, versioned, indexed
and audited like any import). Dates are relative to today so the record never looks stale. A
record already there is left alone, so running load_demo twice adds nothing.
"""

import base64
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from health.fhir.access import system_requester
from health.fhir.bundles import process_bundle
from health.fhir.models import PatientLink, Resource
from portal import scoping

from .services import create_activation_code
from .staff import BP_COMPONENTS, BP_PANEL, LOINC, OBS_CATEGORY, SNOMED, UCUM, _concept

CHAN = "demo-chan-taiman"
LI = "demo-li-xiaomei"
CVX = "http://hl7.org/fhir/sid/cvx"
HEIGHT_M = 1.68

# Quarterly check-ups, oldest first: (systolic, diastolic, weight kg, glucose mg/dL,
# HbA1c %, total cholesterol mmol/L). Treatment is working: every line comes down.
CHECKUPS = [
    (152, 94, 79.5, 168, 8.2, 6.3),
    (149, 93, 79.0, 160, 8.0, 6.1),
    (146, 91, 78.1, 151, 7.7, 5.9),
    (142, 89, 77.4, 144, 7.5, 5.8),
    (139, 88, 76.6, 139, 7.3, 5.6),
    (136, 86, 75.9, 131, 7.1, 5.4),
    (134, 85, 75.2, 127, 7.0, 5.3),
    (131, 83, 74.6, 122, 6.8, 5.1),
]


def _day(days_ago):
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def _quantity(value, unit):
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _observation(rid, when, code, display, category, **value):
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [_concept(OBS_CATEGORY, category, category.replace("-", " ").title())],
        "code": _concept(LOINC, code, display),
        "subject": {"reference": f"Patient/{CHAN}"},
        "effectiveDateTime": when,
        **value,
    }


def _checkup_observations():
    out = []
    for index, (systolic, diastolic, weight, glucose, hba1c, cholesterol) in enumerate(CHECKUPS):
        when = _day(91 * (len(CHECKUPS) - 1 - index) + 7)
        tag = f"{CHAN}-q{index}"
        out += [
            _observation(
                f"{tag}-bp",
                when,
                BP_PANEL,
                "Blood pressure panel",
                "vital-signs",
                component=[
                    {
                        "code": _concept(LOINC, code, display),
                        "valueQuantity": _quantity(value, "mm[Hg]"),
                    }
                    for (_key, code, display), value in zip(
                        BP_COMPONENTS, (systolic, diastolic), strict=True
                    )
                ],
            ),
            _observation(
                f"{tag}-weight",
                when,
                "29463-7",
                "Body weight",
                "vital-signs",
                valueQuantity=_quantity(weight, "kg"),
            ),
            _observation(
                f"{tag}-bmi",
                when,
                "39156-5",
                "Body mass index",
                "vital-signs",
                valueQuantity=_quantity(round(weight / HEIGHT_M**2, 1), "kg/m2"),
            ),
            _observation(
                f"{tag}-glucose",
                when,
                "2339-0",
                "Glucose [Mass/volume] in Blood",
                "laboratory",
                valueQuantity=_quantity(glucose, "mg/dL"),
            ),
            _observation(
                f"{tag}-hba1c",
                when,
                "4548-4",
                "Hemoglobin A1c/Hemoglobin.total in Blood",
                "laboratory",
                valueQuantity=_quantity(hba1c, "%"),
            ),
            _observation(
                f"{tag}-cholesterol",
                when,
                "2093-3",
                "Cholesterol [Moles/volume] in Serum or Plasma",
                "laboratory",
                valueQuantity=_quantity(cholesterol, "mmol/L"),
            ),
        ]
    return out


def _status(system, code):
    return {"coding": [{"system": system, "code": code}]}


def _chan_resources():
    patient_ref = {"reference": f"Patient/{CHAN}"}
    clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    verification = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    letter = (
        "Harbour Health Centre, chronic disease clinic.\n"
        "Blood pressure and blood sugar are much better controlled than a year ago. "
        "Continue amlodipine and metformin; keep walking 30 minutes a day. "
        "Next review in three months with fasting blood tests."
    )
    resources = [
        {
            "resourceType": "Patient",
            "id": CHAN,
            "identifier": [{"system": "urn:demo:district:patient", "value": "D1234567"}],
            "name": [
                {"use": "official", "family": "Chan", "given": ["Tai Man"], "text": "Chan Tai Man"},
                {"use": "usual", "text": "陳大文"},
            ],
            "gender": "male",
            "birthDate": "1958-03-14",
            "telecom": [{"system": "phone", "value": "91234567", "use": "mobile"}],
        },
        {
            "resourceType": "Condition",
            "id": f"{CHAN}-hypertension",
            "clinicalStatus": _status(clinical, "active"),
            "verificationStatus": _status(verification, "confirmed"),
            "code": _concept(SNOMED, "38341003", "Hypertension"),
            "subject": patient_ref,
            "onsetDateTime": _day(6 * 365),
        },
        {
            "resourceType": "Condition",
            "id": f"{CHAN}-diabetes",
            "clinicalStatus": _status(clinical, "active"),
            "verificationStatus": _status(verification, "confirmed"),
            "code": _concept(SNOMED, "44054006", "Type 2 diabetes mellitus"),
            "subject": patient_ref,
            "onsetDateTime": _day(3 * 365),
        },
        {
            "resourceType": "Condition",
            "id": f"{CHAN}-ankle",
            "clinicalStatus": _status(clinical, "resolved"),
            "verificationStatus": _status(verification, "confirmed"),
            "code": _concept(SNOMED, "44465007", "Sprain of ankle"),
            "subject": patient_ref,
            "onsetDateTime": _day(400),
            "abatementDateTime": _day(360),
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": f"{CHAN}-penicillin",
            "clinicalStatus": _status(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"
            ),
            "verificationStatus": _status(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                "confirmed",
            ),
            "criticality": "high",
            "code": _concept(SNOMED, "764146007", "Penicillin"),
            "patient": patient_ref,
            "recordedDate": _day(10 * 365),
        },
    ]
    for rid, code, name, dose, days_ago in [
        ("amlodipine", "17767", "Amlodipine 5 mg tablet", "One tablet every morning", 6 * 365),
        ("metformin", "6809", "Metformin 500 mg tablet", "One tablet twice a day with meals", 900),
    ]:
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"{CHAN}-{rid}",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": _concept(
                    "http://www.nlm.nih.gov/research/umls/rxnorm", code, name
                ),
                "subject": patient_ref,
                "authoredOn": _day(days_ago),
                "dosageInstruction": [{"text": dose}],
            }
        )
    for rid, code, name, days_ago in [
        ("flu-last-year", "140", "Influenza, seasonal, injectable", 400),
        ("flu", "140", "Influenza, seasonal, injectable", 35),
        ("pneumococcal", "133", "Pneumococcal conjugate PCV 13", 700),
    ]:
        resources.append(
            {
                "resourceType": "Immunization",
                "id": f"{CHAN}-{rid}",
                "status": "completed",
                "vaccineCode": _concept(CVX, code, name),
                "patient": patient_ref,
                "occurrenceDateTime": _day(days_ago),
            }
        )
    resources.append(
        {
            "resourceType": "ImmunizationRecommendation",
            "id": f"{CHAN}-recommendation",
            "patient": patient_ref,
            "date": _day(35),
            "recommendation": [
                {
                    "vaccineCode": [_concept(CVX, "140", "Influenza, seasonal, injectable")],
                    "forecastStatus": _concept(
                        "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status",
                        "due",
                        "Due",
                    ),
                    "dateCriterion": [
                        {
                            "code": _concept(LOINC, "30980-7", "Date vaccine due"),
                            "value": _day(35 - 365),
                        }
                    ],
                }
            ],
        }
    )
    for index in range(len(CHECKUPS)):
        start = _day(91 * (len(CHECKUPS) - 1 - index) + 7)
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"{CHAN}-visit-{index}",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                    "display": "ambulatory",
                },
                "type": [_concept(SNOMED, "390906007", "Follow-up encounter")],
                "subject": patient_ref,
                "period": {"start": f"{start}T09:30:00+08:00", "end": f"{start}T09:50:00+08:00"},
                "reasonCode": [_concept(SNOMED, "38341003", "Hypertension")],
            }
        )
    resources.append(
        {
            "resourceType": "DocumentReference",
            "id": f"{CHAN}-letter",
            "status": "current",
            "type": _concept(LOINC, "11506-3", "Progress note"),
            "subject": patient_ref,
            "date": f"{_day(7)}T10:00:00+08:00",
            "description": "Chronic disease review",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "title": "Chronic disease review",
                        "data": base64.b64encode(letter.encode()).decode(),
                    }
                }
            ],
        }
    )
    return resources + _checkup_observations()


def _li_resources():
    return [
        {
            "resourceType": "Patient",
            "id": LI,
            "name": [{"family": "Li", "given": ["Xiaomei"], "text": "Li Xiaomei"}],
            "gender": "female",
            "birthDate": "1990-07-02",
        },
        {
            "resourceType": "Immunization",
            "id": f"{LI}-flu",
            "status": "completed",
            "vaccineCode": _concept(CVX, "140", "Influenza, seasonal, injectable"),
            "patient": {"reference": f"Patient/{LI}"},
            "occurrenceDateTime": _day(50),
        },
    ]


def _store(resources):
    requester = system_requester("demo data")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
            for resource in resources
        ],
    }
    process_bundle(bundle, requester, "urn:demo")


def load(stdout):
    """The `load_demo_data` hook: store the demo records (once), link Chan Tai Man's and give
    Li Xiaomei a fresh activation code while hers is not linked."""
    User = get_user_model()
    if Resource.objects.filter(resource_type="Patient", resource_id=CHAN).exists():
        stdout.write("Health records: the demo records are already there.")
    else:
        chan_resources, li_resources = _chan_resources(), _li_resources()
        _store(chan_resources + li_resources)
        stdout.write(
            f"Health records: {len(chan_resources)} resources for Chan Tai Man, "
            f"{len(li_resources)} for Li Xiaomei."
        )
    chan = User.objects.filter(email="chan.taiman@demo.district.example").first()
    if chan is not None:
        PatientLink.objects.get_or_create(user=chan, patient_id=CHAN)
    nurse = User.objects.filter(email="nurse@demo.district.example").first()
    if nurse is not None:
        # Both are patients of the demo nurse's clinics (docs/architecture.md, staff scope).
        scoping.claim(nurse, scoping.PATIENTS, [CHAN, LI])
    if nurse is not None and not PatientLink.objects.filter(patient_id=LI).exists():
        _record, code = create_activation_code(LI, nurse)
        stdout.write(
            f"  Li Xiaomei can link her record on My page with code {code} "
            "and birth date 1990-07-02."
        )
