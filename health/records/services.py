"""The resident's health record: linking accounts to Patients, and reading the record.

Everything here reads through the FHIR store with the resident's own Requester, so the
record pages obey exactly the access rules of the API (own compartment only), and the store
audits every read like an API read.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from health.fhir import links
from health.fhir import searchparams as sp
from health.fhir.access import requester_for_user
from health.fhir.models import Resource
from health.fhir.patient_operations import concept_text
from health.fhir.search import search_page, search_patient_pages
from health.fhir.store import read_resource, visible_row
from health.terminology.services import Terms

from . import labels
from .models import ActivationCode, LinkAttempt

# No 0/O or 1/I/L: codes are read aloud at the clinic counter and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


class LinkError(Exception):
    """Linking failed; the message is shown to the resident."""


def activation_days():
    return settings.RECORDS_ACTIVATION_CODE_DAYS


def max_code_attempts():
    return settings.RECORDS_ACTIVATION_CODE_ATTEMPTS


def max_user_attempts():
    """Failed tries per resident per hour, across all codes."""
    return settings.RECORDS_LINK_ATTEMPTS_PER_HOUR


def normalise_code(text):
    return "".join(c for c in (text or "").upper() if c.isalnum())


def hash_code(code):
    # Keyed, so a copy of the table alone does not let anyone try codes offline.
    return hmac.new(
        settings.SECRET_KEY.encode(), normalise_code(code).encode(), hashlib.sha256
    ).hexdigest()


def format_code(code):
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def create_activation_code(patient_id, staff_user):
    """Issue a new code for a Patient; earlier unused codes for it stop working.

    Returns (ActivationCode, the code text to hand to the resident once).
    """
    requester = requester_for_user(staff_user)
    visible_row("Patient", patient_id, requester=requester)  # exists and staff may see it
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = timezone.now()
    with transaction.atomic(), requester.audit.writing() as audit:
        ActivationCode.objects.filter(patient_id=patient_id, used_at__isnull=True).update(
            expires_at=now
        )
        record = ActivationCode.objects.create(
            patient_id=patient_id,
            code_hash=hash_code(code),
            created_by=staff_user,
            expires_at=now + timedelta(days=activation_days()),
        )
        audit.add("update", "Patient", patient_id, patient_id, detail="activation code issued")
    return record, format_code(code)


def _patient_birth_date(patient_id):
    row = Resource.objects.filter(
        resource_type="Patient", resource_id=patient_id, deleted=False
    ).first()
    if row is None:
        return None
    return json.loads(row.body).get("birthDate")


def redeem_activation_code(user, code, birth_date):
    """Link the user's account to the code's Patient if the birth date matches.

    Raises LinkError with a message for the resident; the same message is used for an
    unknown code and a wrong birth date, so the form reveals nothing about either.
    """
    now = timezone.now()
    recent_failures = LinkAttempt.objects.filter(
        user=user, succeeded=False, attempted_at__gte=now - timedelta(hours=1)
    ).count()
    if recent_failures >= max_user_attempts():
        raise LinkError(_("Too many attempts. Please try again in an hour."))
    failure = _("The code and date of birth do not match our records, or the code has expired.")
    with transaction.atomic():
        record = (
            ActivationCode.objects.select_for_update()
            .filter(code_hash=hash_code(code), used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        matched = (
            record is not None
            and record.failed_attempts < max_code_attempts()
            and _patient_birth_date(record.patient_id) == birth_date.isoformat()
        )
        if not matched:
            if record is not None:
                record.failed_attempts += 1
                record.save(update_fields=["failed_attempts"])
            LinkAttempt.objects.create(user=user, succeeded=False)
            raise_after = failure
        else:
            record.used_at = now
            record.used_by = user
            record.save(update_fields=["used_at", "used_by"])
            LinkAttempt.objects.create(user=user, succeeded=True)
            return links.link(user, record.patient_id, requester_for_user(user))
    # Raised outside the atomic block so the failed-attempt counters are committed.
    raise LinkError(raise_after)


def linked_patient_id(user):
    """The Patient id of the account's first usable link, or None (one query).

    Links to a Patient that staff deleted (or that is missing) are skipped, so linking a
    new code after a deletion leads to the new record.
    """
    return links.usable_links(user).values_list("patient_id", flat=True).first()


# -- reading the record ----------------------------------------------------------------------


def _status(concept):
    for coding in (concept or {}).get("coding") or []:
        if coding.get("code"):
            return coding["code"]
    return ""


def parse_moment(text):
    """A FHIR date/dateTime as an aware datetime (its start), or None."""
    rng = sp.date_range(text) if text else None
    return rng[0] if rng else None


def effective(body):
    return (
        body.get("effectiveDateTime")
        or (body.get("effectivePeriod") or {}).get("start")
        or body.get("occurrenceDateTime")
        or (body.get("period") or {}).get("start")
        or body.get("authoredOn")
        or body.get("onsetDateTime")
        or body.get("recordedDate")
        or body.get("date")
        or ""
    )


# The searches behind the lists of a record, (resource type, parameters, count) with the
# patient added; a count of None reads the section limit. Named so that a page showing several
# lists can read them together (Record.read_ahead) with the very searches the lists make.
ALLERGIES = ("AllergyIntolerance", (("_sort", "-date"),), None)
CONDITIONS = ("Condition", (("_sort", "-onset-date"),), None)
ACTIVE_CONDITIONS = (
    "Condition",
    (("_sort", "-onset-date"), ("clinical-status", "active,recurrence,relapse")),
    None,
)
MEDICATIONS = (
    ("MedicationRequest", (("_sort", "-authoredon"),), None),
    ("MedicationStatement", (("_sort", "-effective"),), None),
)
ACTIVE_MEDICATIONS = tuple(
    (rtype, (*params, ("status", "active")), count) for rtype, params, count in MEDICATIONS
)
RECOMMENDATIONS = ("ImmunizationRecommendation", (), 50)
VITALS = ("Observation", (("category", "vital-signs"), ("_sort", "-date")), 60)
# What My page's health panel shows (health/records/wagtail_hooks.py).
SUMMARY = (ALLERGIES, ACTIVE_CONDITIONS, *ACTIVE_MEDICATIONS, RECOMMENDATIONS, VITALS)

READ_OPTIONS = {"count_total": False, "action": "read", "detail": "record page"}


@dataclass
class Item:
    """One line of the record as the resident sees it."""

    kind: str
    label: str
    when: object = None
    status: str = ""
    detail: str = ""
    resource_id: str = ""
    version: str = ""
    code: str = ""

    @property
    def status_label(self):
        return labels.status_label(self.status)


class Record:
    """A resident's view of one Patient compartment, audited per page."""

    def __init__(self, user, patient_id, requester=None):
        self.user = user
        self.patient_id = patient_id
        self.requester = requester or requester_for_user(user)
        # The largest limit a search hit (more entries exist than were read), or None.
        self.truncated_at = None
        # Codes in the reader's language: every label of a page is read in one query.
        self.terms = Terms()
        # Pages read ahead (read_ahead), by search, until a list takes them.
        self._pages = {}

    @classmethod
    def of(cls, user, linked=None):
        """The record of the account's first usable link, or None; the links read once for
        both that and the resident's access (`linked`: links.links_of(user), when read
        already)."""
        linked, patient_id = linked or links.links_of(user)
        if patient_id is None:
            return None
        return cls(user, patient_id, requester_for_user(user, linked=linked))

    def collecting(self):
        """A block whose reads the store audits in one INSERT at its end (a page's worth)."""
        return self.requester.audit.collecting()

    def _pairs(self, params, count):
        return (("patient", self.patient_id), *params, ("_count", str(count or section_limit())))

    def read_ahead(self, *searches):
        """Read these searches (ALLERGIES, VITALS...) in one statement where the store can
        (search_patient_pages: its SQL built once per thread), each audited as it is read;
        the lists that make them take the pages instead of searching again."""
        pairs = [(rtype, self._pairs(params, count)) for rtype, params, count in searches]
        pages = search_patient_pages(
            [(t, list(p)) for t, p in pairs], self.patient_id, self.requester, **READ_OPTIONS
        )
        self._pages.update(zip(pairs, pages, strict=True))

    def _read(self, search):
        resource_type, params, count = search
        return self._search(resource_type, *params, count=count)

    def _search(self, resource_type, *params, count=None):
        count = count or section_limit()
        pairs = self._pairs(params, count)
        page = self._pages.pop((resource_type, pairs), None)
        if page is None:
            page = search_page(resource_type, list(pairs), self.requester, **READ_OPTIONS)
        if page.more:
            self.truncated_at = max(self.truncated_at or 0, count)
        return [json.loads(r.body) for r in page.matches]

    def patient(self):
        resource = read_resource(
            "Patient", self.patient_id, requester=self.requester, detail="record page"
        )
        return json.loads(resource.body)

    def allergies(self):
        return [
            Item(
                "allergy",
                self.terms.concept(b.get("code")),
                parse_moment(b.get("recordedDate") or b.get("onsetDateTime")),
                _status(b.get("clinicalStatus")),
                labels.criticality_label(b.get("criticality", "")),
                b["id"],
                b.get("meta", {}).get("versionId", ""),
            )
            for b in self._read(ALLERGIES)
            if _status(b.get("verificationStatus")) != "entered-in-error"
        ]

    def conditions(self, active_only=False):
        return [
            Item(
                "condition",
                self.terms.concept(b.get("code")),
                parse_moment(b.get("onsetDateTime") or b.get("recordedDate")),
                _status(b.get("clinicalStatus")),
                "",
                b["id"],
                b.get("meta", {}).get("versionId", ""),
            )
            for b in self._read(ACTIVE_CONDITIONS if active_only else CONDITIONS)
        ]

    def medications(self, active_only=False):
        items = []
        for search in ACTIVE_MEDICATIONS if active_only else MEDICATIONS:
            for b in self._read(search):
                dosage = (b.get("dosageInstruction") or b.get("dosage") or [{}])[0].get("text", "")
                items.append(
                    Item(
                        "medication",
                        self.terms.concept(
                            b.get("medicationCodeableConcept"), default=_("Medication")
                        ),
                        parse_moment(b.get("authoredOn") or effective(b)),
                        b.get("status", ""),
                        dosage,
                        b["id"],
                    )
                )
        return items

    def immunizations(self):
        return [
            Item(
                "immunization",
                self.terms.concept(b.get("vaccineCode")),
                parse_moment(b.get("occurrenceDateTime")),
                b.get("status", ""),
                "",
                b["id"],
                b.get("meta", {}).get("versionId", ""),
            )
            for b in self._search("Immunization", ("_sort", "-date"))
        ]

    def next_immunization_due(self):
        """The earliest future due date from ImmunizationRecommendation resources, if any."""
        today = timezone.localdate().isoformat()
        best = None
        for body in self._read(RECOMMENDATIONS):
            for rec in body.get("recommendation") or []:
                for criterion in rec.get("dateCriterion") or []:
                    value = criterion.get("value", "")
                    if value >= today and (best is None or value < best[0]):
                        vaccine = (rec.get("vaccineCode") or [None])[0]
                        label = self.terms.concept(vaccine or rec.get("targetDisease"))
                        best = (value, label)
        if best is None:
            return None
        return Item("immunization-due", best[1], parse_moment(best[0]))

    def encounters(self, count=100):
        return [
            Item(
                "encounter",
                self.terms.concept(
                    (b.get("type") or [{}])[0], default=(b.get("class") or {}).get("code", "")
                ),
                parse_moment((b.get("period") or {}).get("start")),
                b.get("status", ""),
                self.terms.concept((b.get("reasonCode") or [{}])[0]),
                b["id"],
            )
            for b in self._search("Encounter", ("_sort", "-date"), count=count)
        ]

    def documents(self):
        items = []
        for b in self._search("DocumentReference", ("_sort", "-date")):
            attachment = ((b.get("content") or [{}])[0]).get("attachment", {})
            items.append(
                Item(
                    "document",
                    b.get("description")
                    or attachment.get("title")
                    or self.terms.concept(b.get("type")),
                    parse_moment(b.get("date")),
                    b.get("status", ""),
                    labels.document_type_label(attachment.get("contentType", "")),
                    b["id"],
                    code="data" if attachment.get("data") else "",
                )
            )
        return items

    def document_file(self, resource_id):
        """The first attachment of one of this record's documents, as a DocumentFile, or
        None when it has no content to open. Raises FhirError (404) for a document outside
        this record. The opening is audited."""
        import re

        from health.fhir.errors import FhirError

        if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource_id):  # FHIR's id syntax
            raise FhirError(404, "No such document", code="not-found")
        resource = visible_row("DocumentReference", resource_id, requester=self.requester)
        if resource.deleted or resource.patient_id != self.patient_id:
            return None
        resource = read_resource(
            "DocumentReference", resource_id, requester=self.requester, detail="document opened"
        )
        return document_file(json.loads(resource.body))

    def latest_vitals(self):
        """The latest value of each vital sign (one query, bounded), the ones a clinician
        looks at first leading (the My page panel shows only the first few): readings taken
        at the same visit share a time, so their order would otherwise be arbitrary."""
        latest = {}
        for body in self._read(VITALS):
            key = concept_text(body.get("code"))
            if key in latest:
                continue
            latest[key] = Item(
                "vital",
                self.terms.concept(body.get("code")),
                parse_moment(effective(body)),
                detail=observation_value(body),
                resource_id=body["id"],
                version=body.get("meta", {}).get("versionId", ""),
                code=next(
                    (c.get("code", "") for c in (body.get("code") or {}).get("coding") or []), ""
                ),
            )
        # sorted() is stable: other vital signs keep their newest-first order, after these.
        return sorted(
            latest.values(), key=lambda item: VITALS_FIRST.get(item.code, len(VITALS_FIRST))
        )

    def series(self, code, limit=None):
        """The latest `limit` Observations with a LOINC code, oldest first, for a chart.

        One bounded query per chart whatever the size of the record; a chart of more
        readings than this would not be readable on a phone anyway.
        """
        limit = limit or chart_points_limit()
        newest = self._search(
            "Observation", ("code", f"http://loinc.org|{code}"), ("_sort", "-date"), count=limit
        )
        return list(reversed(newest))


APPOINTMENTS_SHOWN = 20


def clinic_appointments(user, *, now=None, limit=APPOINTMENTS_SHOWN):
    """(upcoming, recent) clinic appointments the resident booked, for themselves or their
    household, as the booking pages list them: two queries whatever their number.
    """
    from health.booking import selectors

    now = now or timezone.now()
    upcoming = list(selectors.upcoming_for(user, now=now)[:limit])
    recent = list(selectors.past_for(user, now=now)[:limit])
    return upcoming, recent


def section_limit(slug=""):
    """How many entries a section page reads (the latest ones); visits have their own."""
    if slug == "encounters":
        return settings.RECORDS_VISITS_LIMIT
    return settings.RECORDS_SECTION_LIMIT


def chart_points_limit():
    return settings.RECORDS_CHART_POINTS


def _number(value):
    """A reading's number in the active language's format (text left as it is)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return formats.localize(value)
    return str(value)


def observation_value(body):
    """An Observation's value as the resident reads it: localised number, unit label."""
    quantity = body.get("valueQuantity")
    if quantity:
        return labels.with_unit(_number(quantity.get("value", "")), labels.quantity_unit(quantity))
    components = []
    for component in body.get("component") or []:
        q = component.get("valueQuantity") or {}
        if q:
            components.append(_number(q.get("value", "")))
    if components:
        first = (body.get("component") or [{}])[0].get("valueQuantity") or {}
        return labels.with_unit("/".join(components), labels.quantity_unit(first))
    return concept_text(body.get("valueCodeableConcept")) or body.get("valueString", "")


# Vital signs in the order a clinician reads them (LOINC): blood pressure, heart rate, weight,
# BMI, temperature, breathing rate, oxygen saturation, height.
VITALS_FIRST = {
    code: rank
    for rank, code in enumerate(
        [
            "85354-9",
            "8480-6",
            "8867-4",
            "29463-7",
            "39156-5",
            "8310-5",
            "9279-1",
            "59408-5",
            "2708-6",
            "8302-2",
        ]
    )
}

# (slug, title, LOINC codes, component codes for multi-line charts)
CHARTS = [
    ("blood-pressure", "Blood pressure", ["85354-9"], ["8480-6", "8462-4"]),
    ("weight", "Body weight", ["29463-7"], None),
    ("bmi", "Body mass index", ["39156-5"], None),
    ("glucose", "Blood glucose", ["2339-0"], None),
    ("hba1c", "HbA1c", ["4548-4"], None),
    ("cholesterol", "Total cholesterol", ["2093-3"], None),
]


def chart_points(observations, code, component_codes=None):
    """[(datetime, {line: value}, unit label)] for one chart from the Observations fetched."""
    points = []
    for body in observations:
        codes = {c.get("code") for c in (body.get("code") or {}).get("coding") or []}
        if code not in codes:
            continue
        moment = parse_moment(effective(body))
        if moment is None:
            continue
        values, unit = {}, ""
        if component_codes:
            for component in body.get("component") or []:
                ccodes = {c.get("code") for c in (component.get("code") or {}).get("coding") or []}
                quantity = component.get("valueQuantity") or {}
                for wanted in component_codes:
                    if wanted in ccodes and quantity.get("value") is not None:
                        values[wanted] = float(quantity["value"])
                        unit = labels.quantity_unit(quantity) or unit
        else:
            quantity = body.get("valueQuantity") or {}
            if quantity.get("value") is not None:
                values["value"] = float(quantity["value"])
                unit = labels.quantity_unit(quantity)
        if values:
            points.append((moment, values, unit))
    return points


def parse_birth_date(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def everything_bundle(user, patient_id, base):
    """The resident's whole record as a FHIR collection Bundle (JSON text), audited."""
    from health.fhir.patient_operations import export_bundle

    return export_bundle(patient_id, requester_for_user(user), base)


# -- documents -------------------------------------------------------------------------------

# Types a browser shows safely on its own; anything else is only offered as a download.
VIEWABLE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"}


@dataclass
class DocumentFile:
    filename: str
    content_type: str
    content: bytes

    @property
    def viewable(self):
        return self.content_type.split(";")[0] in VIEWABLE_TYPES


def document_file(body):
    """A DocumentReference's first attachment with inline data, named and typed for saving:
    the title (or description) plus the extension of its type. None without data."""
    import base64
    import binascii
    import mimetypes
    import re

    for content in body.get("content") or []:
        attachment = content.get("attachment") or {}
        data = attachment.get("data")
        if not data:
            continue
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
        declared = str(attachment.get("contentType") or "application/octet-stream")
        base_type = declared.split(";")[0].strip().lower()
        if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", base_type):
            base_type = "application/octet-stream"
        content_type = "text/plain; charset=utf-8" if base_type == "text/plain" else base_type
        title = attachment.get("title") or body.get("description") or "document"
        stem = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", " ", str(title)).strip()[:80] or "document"
        extension = (
            {"text/plain": ".txt", "image/jpeg": ".jpg"}.get(base_type)
            or mimetypes.guess_extension(base_type)
            or ""
        )
        if not stem.lower().endswith(extension):
            stem += extension
        return DocumentFile(stem, content_type, raw)
    return None
