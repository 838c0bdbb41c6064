"""Resident-facing labels for FHIR codes: the one place record pages translate codes.

Unknown codes fall back to the code itself, so a new code shows up untranslated rather
than disappearing.
"""

from django.utils.translation import gettext_lazy as _

# Clinical, verification and workflow statuses of the resources the record pages show
# (AllergyIntolerance, Condition, MedicationRequest/Statement, Immunization, Encounter,
# DocumentReference).
STATUS = {
    "active": _("Active"),
    "inactive": _("Inactive"),
    "resolved": _("Resolved"),
    "recurrence": _("Recurrence"),
    "relapse": _("Relapse"),
    "remission": _("Remission"),
    "unconfirmed": _("Unconfirmed"),
    "provisional": _("Provisional"),
    "differential": _("Differential"),
    "confirmed": _("Confirmed"),
    "refuted": _("Refuted"),
    "entered-in-error": _("Entered in error"),
    "on-hold": _("On hold"),
    "cancelled": _("Cancelled"),
    "completed": _("Completed"),
    "stopped": _("Stopped"),
    "draft": _("Draft"),
    "intended": _("Intended"),
    "not-taken": _("Not taken"),
    "not-done": _("Not done"),
    "unknown": _("Unknown"),
    "planned": _("Planned"),
    "arrived": _("Arrived"),
    "triaged": _("Triaged"),
    "in-progress": _("In progress"),
    "onleave": _("On leave"),
    "finished": _("Finished"),
    "current": _("Current"),
    "superseded": _("Superseded"),
}

CRITICALITY = {
    "low": _("Low risk"),
    "high": _("High risk"),
    "unable-to-assess": _("Risk not assessed"),
}

RESOURCE_TYPES = {
    "Patient": _("Personal details"),
    "Observation": _("Observations"),
    "Condition": _("Conditions"),
    "AllergyIntolerance": _("Allergies"),
    "MedicationRequest": _("Prescriptions"),
    "MedicationStatement": _("Medications"),
    "Medication": _("Medications"),
    "Immunization": _("Immunizations"),
    "ImmunizationRecommendation": _("Immunization recommendations"),
    "Encounter": _("Visits"),
    "DocumentReference": _("Documents"),
    "DiagnosticReport": _("Test reports"),
    "Procedure": _("Procedures"),
    "CarePlan": _("Care plans"),
    "CareTeam": _("Care teams"),
    "Goal": _("Goals"),
    "Appointment": _("Appointments"),
    "Composition": _("Health summary"),
    "Bundle": _("Record export"),
    "Claim": _("Claims"),
    "ExplanationOfBenefit": _("Claims"),
    "Coverage": _("Insurance coverage"),
    "Device": _("Devices"),
    "ImagingStudy": _("Imaging studies"),
    "Provenance": _("Record history"),
}

# The International Patient Summary sections of health.fhir.operations, by LOINC code.
SUMMARY_SECTIONS = {
    "48765-2": _("Allergies and intolerances"),
    "10160-0": _("Medication summary"),
    "11450-4": _("Problem list"),
    "11369-6": _("History of immunizations"),
    "30954-2": _("Relevant diagnostic tests/laboratory data"),
    "8716-3": _("Vital signs"),
}

# UCUM units of Observation quantities, by code (the Quantity's `code`, usually also its
# `unit` text).
UNITS = {
    "mm[Hg]": _("mmHg"),
    "kg": _("kg"),
    "cm": _("cm"),
    "/min": _("/min"),
    "kg/m2": _("kg/m²"),
    "mmol/L": _("mmol/L"),
    "mg/dL": _("mg/dL"),
    "%": _("%"),
    "Cel": _("°C"),
}

# How a value and its unit label are put together ("72.5 kg").
VALUE_WITH_UNIT = _("%(value)s %(unit)s")


def unit_label(code, text=""):
    """A unit code's label; an unknown code shows the display text, then the code."""
    return UNITS.get(code) or UNITS.get(text) or text or code or ""


def quantity_unit(quantity):
    """The unit label of a FHIR Quantity ({"value", "unit", "code", ...})."""
    quantity = quantity or {}
    return unit_label(quantity.get("code", ""), quantity.get("unit", ""))


def with_unit(value, unit):
    """A (formatted) value with its unit label, or the value alone when there is no unit."""
    if not unit:
        return str(value)
    return (VALUE_WITH_UNIT % {"value": value, "unit": unit}).strip()


def status_label(code):
    return STATUS.get(code, code) if code else ""


def criticality_label(code):
    return CRITICALITY.get(code, code) if code else ""


def resource_type_label(resource_type):
    return RESOURCE_TYPES.get(resource_type, resource_type) if resource_type else ""


DOCUMENT_TYPES = {
    "application/pdf": _("PDF document"),
    "text/plain": _("Text document"),
    "text/html": _("Web page"),
    "image/png": _("Picture"),
    "image/jpeg": _("Picture"),
    "image/gif": _("Picture"),
}


def document_type_label(content_type):
    """'PDF document' for application/pdf, 'Text document' for text/plain; charset=utf-8."""
    base = str(content_type or "").split(";")[0].strip().lower()
    if not base:
        return ""
    return DOCUMENT_TYPES.get(base) or _("File (%(type)s)") % {"type": base}


def summary_section_title(section):
    """A Composition section's title, translated when its LOINC code is known."""
    for coding in (section.get("code") or {}).get("coding") or []:
        if coding.get("code") in SUMMARY_SECTIONS:
            return SUMMARY_SECTIONS[coding["code"]]
    return section.get("title", "")
