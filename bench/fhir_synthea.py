"""Synthea-like FHIR R4 transaction Bundles for tests and benchmarks.

The shape follows what Synthea exports: one transaction Bundle per patient, every entry a POST
with a `urn:uuid:` fullUrl, all references between entries by those fullUrls, the clinic's
Organization and Practitioner as conditional creates (`ifNoneExist` on their identifier),
and per encounter a mix of Conditions, vital-sign and laboratory Observations,
DiagnosticReports, Procedures, Immunizations, MedicationRequests, Claims and
ExplanationOfBenefits. The content is deterministic for a seed; fullUrls are fresh UUIDs.

    python bench/fhir_synthea.py --patients 10 --encounters 40 --out var/synthea
"""

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

VITALS = [
    ("29463-7", "Body weight", "kg", 55.0, 95.0),
    ("8302-2", "Body height", "cm", 150.0, 190.0),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18.0, 34.0),
    ("8867-4", "Heart rate", "/min", 55.0, 100.0),
]
LABS = [
    ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 70.0, 160.0),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.8, 8.5),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 140.0, 260.0),
    ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 35.0, 80.0),
]
CONDITIONS = [
    ("44054006", "Diabetes mellitus type 2"),
    ("38341003", "Hypertensive disorder"),
    ("195662009", "Acute viral pharyngitis"),
    ("10509002", "Acute bronchitis"),
    ("55822004", "Hyperlipidemia"),
]
VACCINES = [("140", "Influenza, seasonal, injectable"), ("208", "SARS-COV-2 (COVID-19) vaccine")]
MEDICATIONS = [
    ("860975", "Metformin 500 MG Oral Tablet"),
    ("314076", "Lisinopril 10 MG Oral Tablet"),
]
GIVEN = ["Mei", "Wing", "Ka Ho", "Siu Ming", "Ling", "Chun", "Yan", "Hoi"]
FAMILY = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ho", "Ng", "Leung"]


def _urn():
    return f"urn:uuid:{uuid.uuid4()}"


def _concept(system, code, display):
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _instant(moment):
    return moment.isoformat(timespec="seconds")


def _post(resource, full_url=None, if_none_exist=None):
    entry = {
        "fullUrl": full_url or _urn(),
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if if_none_exist:
        entry["request"]["ifNoneExist"] = if_none_exist
    return entry


def clinic_entries(clinic_no=1):
    """The clinic's Organization and Practitioner as conditional creates."""
    org = {
        "resourceType": "Organization",
        "identifier": [
            {"system": "https://district.example/clinic", "value": f"clinic-{clinic_no}"}
        ],
        "name": f"District Community Clinic {clinic_no}",
        "active": True,
    }
    practitioner = {
        "resourceType": "Practitioner",
        "identifier": [{"system": "https://district.example/staff", "value": f"dr-{clinic_no}"}],
        "name": [{"family": "Lam", "given": ["Doctor"], "prefix": ["Dr."]}],
        "active": True,
    }
    return [
        _post(org, if_none_exist=f"identifier=https://district.example/clinic|clinic-{clinic_no}"),
        _post(
            practitioner, if_none_exist=f"identifier=https://district.example/staff|dr-{clinic_no}"
        ),
    ]


def patient_bundle(seed=0, encounters=20, start=None):
    """A transaction Bundle for one patient; about 25 entries per encounter."""
    rng = random.Random(seed)
    uuid_rng = random.Random(seed * 7919 + 1)
    start = start or datetime(2015, 1, 1, 9, 0, tzinfo=UTC)
    entries = clinic_entries(seed % 3 + 1)
    org_url, pract_url = entries[0]["fullUrl"], entries[1]["fullUrl"]
    patient_url = _urn()
    birth = datetime(1940 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {
                "system": "https://district.example/patient",
                "value": f"P{seed:07d}-{uuid_rng.randrange(10**6)}",
            }
        ],
        "name": [{"use": "official", "family": rng.choice(FAMILY), "given": [rng.choice(GIVEN)]}],
        "gender": rng.choice(["male", "female"]),
        "birthDate": birth.date().isoformat(),
        "address": [{"line": [f"{rng.randrange(1, 300)} Nathan Road"], "city": "Kowloon"}],
        "managingOrganization": {"reference": org_url},
    }
    entries.append(_post(patient, patient_url))
    subject = {"reference": patient_url}
    conditions = rng.sample(CONDITIONS, 2)
    entries.append(
        _post(
            {
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": _concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "active",
                    "Active",
                ),
                "verificationStatus": _concept(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                    "confirmed",
                    "Confirmed",
                ),
                "category": ["food"],
                "criticality": "low",
                "code": _concept(SNOMED, "91935009", "Allergy to peanuts"),
                "patient": subject,
                "recordedDate": _instant(start),
            }
        )
    )
    moment = start
    for n in range(encounters):
        moment = moment + timedelta(days=rng.randrange(20, 60), minutes=rng.randrange(600))
        end = moment + timedelta(minutes=30)
        enc_url = _urn()
        entries.append(
            _post(
                {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "type": [_concept(SNOMED, "185349003", "Encounter for check up")],
                    "subject": subject,
                    "participant": [{"individual": {"reference": pract_url}}],
                    "period": {"start": _instant(moment), "end": _instant(end)},
                    "serviceProvider": {"reference": org_url},
                },
                enc_url,
            )
        )
        encounter = {"reference": enc_url}
        when = _instant(moment)
        if n < len(conditions):
            code, display = conditions[n]
            entries.append(
                _post(
                    {
                        "resourceType": "Condition",
                        "clinicalStatus": _concept(
                            "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "active",
                            "Active",
                        ),
                        "category": [
                            _concept(
                                "http://terminology.hl7.org/CodeSystem/condition-category",
                                "encounter-diagnosis",
                                "Encounter Diagnosis",
                            )
                        ],
                        "code": _concept(SNOMED, code, display),
                        "subject": subject,
                        "encounter": encounter,
                        "onsetDateTime": when,
                        "recordedDate": when,
                    }
                )
            )
        vital = _concept(OBS_CATEGORY, "vital-signs", "Vital signs")
        laboratory = _concept(OBS_CATEGORY, "laboratory", "Laboratory")
        systolic, diastolic = rng.randrange(105, 160), rng.randrange(65, 100)
        entries.append(
            _post(
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [vital],
                    "code": _concept(LOINC, "85354-9", "Blood pressure panel"),
                    "subject": subject,
                    "encounter": encounter,
                    "effectiveDateTime": when,
                    "component": [
                        {
                            "code": _concept(LOINC, "8480-6", "Systolic blood pressure"),
                            "valueQuantity": {
                                "value": systolic,
                                "unit": "mm[Hg]",
                                "system": UCUM,
                                "code": "mm[Hg]",
                            },
                        },
                        {
                            "code": _concept(LOINC, "8462-4", "Diastolic blood pressure"),
                            "valueQuantity": {
                                "value": diastolic,
                                "unit": "mm[Hg]",
                                "system": UCUM,
                                "code": "mm[Hg]",
                            },
                        },
                    ],
                }
            )
        )
        result_urls = []
        for code, display, unit, low, high in VITALS + LABS:
            url = _urn()
            is_lab = (code, display, unit, low, high) in LABS
            if is_lab:
                result_urls.append(url)
            entries.append(
                _post(
                    {
                        "resourceType": "Observation",
                        "status": "final",
                        "category": [laboratory if is_lab else vital],
                        "code": _concept(LOINC, code, display),
                        "subject": subject,
                        "encounter": encounter,
                        "effectiveDateTime": when,
                        "issued": when,
                        "valueQuantity": {
                            "value": round(rng.uniform(low, high), 1),
                            "unit": unit,
                            "system": UCUM,
                            "code": unit,
                        },
                    },
                    url,
                )
            )
        entries.append(
            _post(
                {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "category": [
                        _concept(
                            "http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory"
                        )
                    ],
                    "code": _concept(LOINC, "24323-8", "Comprehensive metabolic panel"),
                    "subject": subject,
                    "encounter": encounter,
                    "effectiveDateTime": when,
                    "issued": when,
                    "result": [{"reference": u} for u in result_urls],
                }
            )
        )
        entries.append(
            _post(
                {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": _concept(SNOMED, "430193006", "Medication reconciliation"),
                    "subject": subject,
                    "encounter": encounter,
                    "performedPeriod": {"start": when, "end": _instant(end)},
                }
            )
        )
        if n % 10 == 0:
            code, display = VACCINES[(n // 10) % len(VACCINES)]
            entries.append(
                _post(
                    {
                        "resourceType": "Immunization",
                        "status": "completed",
                        "vaccineCode": _concept(CVX, code, display),
                        "patient": subject,
                        "encounter": encounter,
                        "occurrenceDateTime": when,
                        "primarySource": True,
                    }
                )
            )
        if n % 5 == 0:
            code, display = MEDICATIONS[(n // 5) % len(MEDICATIONS)]
            entries.append(
                _post(
                    {
                        "resourceType": "MedicationRequest",
                        "status": "active" if n + 5 >= encounters else "completed",
                        "intent": "order",
                        "medicationCodeableConcept": _concept(RXNORM, code, display),
                        "subject": subject,
                        "encounter": encounter,
                        "authoredOn": when,
                        "requester": {"reference": pract_url},
                    }
                )
            )
        claim_url = _urn()
        entries.append(
            _post(
                {
                    "resourceType": "Claim",
                    "status": "active",
                    "type": _concept(
                        "http://terminology.hl7.org/CodeSystem/claim-type",
                        "professional",
                        "Professional",
                    ),
                    "use": "claim",
                    "patient": subject,
                    "created": _instant(end),
                    "provider": {"reference": org_url},
                    "priority": _concept(
                        "http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal"
                    ),
                    "insurance": [
                        {
                            "sequence": 1,
                            "focal": True,
                            "coverage": {"display": "District health scheme"},
                        }
                    ],
                    "item": [
                        {
                            "sequence": 1,
                            "productOrService": _concept(
                                SNOMED, "185349003", "Encounter for check up"
                            ),
                            "encounter": [encounter],
                        }
                    ],
                    "total": {"value": 120.0, "currency": "HKD"},
                },
                claim_url,
            )
        )
        entries.append(
            _post(
                {
                    "resourceType": "ExplanationOfBenefit",
                    "status": "active",
                    "type": _concept(
                        "http://terminology.hl7.org/CodeSystem/claim-type",
                        "professional",
                        "Professional",
                    ),
                    "use": "claim",
                    "patient": subject,
                    "created": _instant(end),
                    "insurer": {"display": "District health scheme"},
                    "provider": {"reference": org_url},
                    "claim": {"reference": claim_url},
                    "outcome": "complete",
                    "insurance": [
                        {"focal": True, "coverage": {"display": "District health scheme"}}
                    ],
                    "item": [
                        {
                            "sequence": 1,
                            "productOrService": _concept(
                                SNOMED, "185349003", "Encounter for check up"
                            ),
                            "encounter": [encounter],
                        }
                    ],
                }
            )
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--encounters", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(args.patients):
        bundle = patient_bundle(args.seed * 100_000 + i, args.encounters)
        total += len(bundle["entry"])
        (args.out / f"patient-{i:05d}.json").write_text(json.dumps(bundle))
    print(f"{args.patients} bundles, {total} entries in {args.out}")


if __name__ == "__main__":
    main()
