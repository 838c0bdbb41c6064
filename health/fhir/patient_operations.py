"""Patient-level operations: $everything and $summary (International Patient Summary),
registered with operations.py like any other operation."""

import json
import uuid
from collections import Counter
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.translation import gettext

from health.terminology.services import TAGS, Terms, language_key

from . import store
from .errors import FhirError
from .models import ReferenceIndex, Resource
from .operations import register_operation
from .paging import Paging
from .responses import bundle_text, entry_text, page_links
from .search import max_page_bytes, visible
from .validation import is_resource_type
from .wire import format_instant


class Row(NamedTuple):
    """The columns of a stored resource $everything and the export read (a tuple per row:
    no model instance is built for each of thousands of resources)."""

    pk: int
    resource_type: str
    resource_id: str
    body: str
    patient_id: str


_ROW_COLUMNS = Row._fields


def _rows(queryset):
    """A queryset's rows as Rows, read in chunks of 500 (memory stays bounded)."""
    values = queryset.values_list(*_ROW_COLUMNS).iterator(chunk_size=500)
    return (Row(*row) for row in values)


def _readable_types(requester, types):
    if requester is None:
        return types
    return [t for t in types if requester.allows(t, "r")]


class Everything:
    """What Patient/$everything returns, in order, without holding it in memory: the
    Patient, its compartment by type and age (paged in SQL), then the resources outside any
    compartment that the compartment refers to (Practitioner, Organization, Medication ...;
    their keys are the only list kept)."""

    def __init__(self, patient, requester=None, types=None, since=None):
        self.patient = patient
        compartment = Resource.objects.filter(
            patient_id=patient.resource_id, deleted=False
        ).exclude(pk=patient.pk)
        if types is not None:
            compartment = compartment.filter(resource_type__in=types)
        if since is not None:
            compartment = compartment.filter(last_updated__gte=since)
        if requester is not None and not requester.allows("*", "r"):
            allowed = {s.resource_type for s in requester.scopes if "r" in s.permissions}
            compartment = compartment.filter(resource_type__in=allowed)
        self.compartment = compartment.order_by("resource_type", "pk")
        self.with_patient = (types is None or "Patient" in types) and (
            since is None or patient.last_updated >= since
        )
        self.referenced = self._referenced(requester, types, since)
        self._compartment_count = None

    def _referenced(self, requester, types, since):
        targets = {}
        refs = (
            ReferenceIndex.objects.filter(resource__patient_id=self.patient.resource_id)
            .exclude(target_type="Patient")
            .values_list("target_type", "target_id")
            .distinct()
        )
        for target_type, target_id in refs:
            targets.setdefault(target_type, set()).add(target_id)
        pks = []
        for target_type in sorted(targets):
            if types is not None and target_type not in types:
                continue
            qs = Resource.objects.filter(
                resource_type=target_type,
                resource_id__in=targets[target_type],
                patient_id="",
                deleted=False,
            )
            if since is not None:
                qs = qs.filter(last_updated__gte=since)
            pks += list(
                visible(qs, requester, target_type).order_by("pk").values_list("pk", flat=True)
            )
        return pks

    @property
    def compartment_count(self):
        if self._compartment_count is None:
            self._compartment_count = self.compartment.count()
        return self._compartment_count

    def __len__(self):
        return int(self.with_patient) + self.compartment_count + len(self.referenced)

    def rows(self, offset, count):
        """The resources at [offset, offset + count) as Rows, fetched in chunks."""
        end = offset + count
        if self.with_patient:
            if offset == 0 and count:
                patient = self.patient
                yield Row(*(getattr(patient, name) for name in _ROW_COLUMNS))
            offset, end = max(0, offset - 1), max(0, end - 1)
        if offset < self.compartment_count and end > offset:
            page = self.compartment[offset : min(end, self.compartment_count)]
            yield from _rows(page)
        offset = max(0, offset - self.compartment_count)
        end = max(0, end - self.compartment_count)
        wanted = self.referenced[offset:end]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found = {row.pk: row for row in _rows(Resource.objects.filter(pk__in=chunk))}
            yield from (found[pk] for pk in chunk if pk in found)


def everything_max_count():
    # Higher than the search cap: exporting a whole record in one response is the point.
    return settings.FHIR_EVERYTHING_MAX_COUNT


def everything(patient_id, params, requester, base):
    """Patient/{id}/$everything as a searchset Bundle text, paged with _count/_offset
    (audited: one row per type of the patient's record read). A page stops early, with a
    next link, when its resources reach FHIR_MAX_PAGE_BYTES."""
    patient = store.read_resource("Patient", patient_id, requester=requester, detail="$everything")
    types = None
    paging = Paging(settings.FHIR_EVERYTHING_COUNT, everything_max_count())
    for key, value in params:
        if paging.take(key, value):
            continue
        if key == "_type":
            types = [t.strip() for t in value.split(",") if t.strip()]
            unknown = [t for t in types if not is_resource_type(t)]
            if unknown:
                raise FhirError(
                    400, f"Unknown resource type in _type: {unknown[0]}", code="invalid"
                )
        else:
            raise FhirError(400, f"$everything does not support {key}", code="not-supported")
    since, count, offset = paging.since, paging.count, paging.offset
    found = Everything(patient, requester, types, since)
    total = len(found)
    entries, size, budget = [], 0, max_page_bytes()
    # Each entry is spliced from the stored text: no resource is decoded or encoded again.
    tail = ',"search":{"mode":"match"}}'
    read = Counter()
    for row in found.rows(offset, count):
        url = json.dumps(f"{base}/{row.resource_type}/{row.resource_id}")
        entry = f'{{"fullUrl":{url},"resource":{row.body}{tail}'
        entries.append(entry)
        if row.patient_id and row.pk != patient.pk:
            read[row.resource_type, row.patient_id] += 1
        size += len(entry)
        if size >= budget:
            break
    audit = requester.audit
    with audit.collecting():
        for (resource_type, patient_id), number in read.items():
            audit.add_many("read", resource_type, patient_id, number, detail="$everything")
    url = f"{base}/Patient/{patient_id}/$everything"
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": page_links(url, params, offset, count, total, len(entries)),
    }
    return bundle_text(bundle, entries)


# -- International Patient Summary ----------------------------------------------------------

LOINC = "http://loinc.org"
_ACTIVE_CLINICAL = {"active", "recurrence", "relapse"}

# (key, LOINC code, title, required by the IPS profile)
SECTIONS = [
    ("allergies", "48765-2", "Allergies and intolerances", True),
    ("medications", "10160-0", "Medication summary", True),
    ("problems", "11450-4", "Problem list", True),
    ("immunizations", "11369-6", "History of immunizations", False),
    ("results", "30954-2", "Relevant diagnostic tests/laboratory data", False),
    ("vitals", "8716-3", "Vital signs", False),
]


def _status_code(concept):
    for coding in (concept or {}).get("coding") or []:
        if coding.get("code"):
            return coding["code"]
    return None


def concept_text(concept):
    """The words for a CodeableConcept: its text, else the first coding's display or code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return concept["text"]
    for coding in concept.get("coding") or []:
        if coding.get("display") or coding.get("code"):
            return coding.get("display") or coding["code"]
    return ""


def _categories(body):
    return {
        coding.get("code")
        for category in body.get("category") or []
        for coding in (category or {}).get("coding") or []
    }


def _effective(body):
    return (
        body.get("effectiveDateTime")
        or (body.get("effectivePeriod") or {}).get("start")
        or body.get("effectiveInstant")
        or body.get("issued")
        or ""
    )


def _latest_per_code(observations, limit):
    latest = {}
    for body in sorted(observations, key=_effective, reverse=True):
        key = concept_text(body.get("code"))
        if key not in latest:
            latest[key] = body
    return sorted(latest.values(), key=_effective, reverse=True)[:limit]


def summary_sections(bodies):
    """Sort a patient's resources (decoded bodies) into the IPS sections."""
    sections = {key: [] for key, *_ in SECTIONS}
    observations = {"laboratory": [], "vital-signs": []}
    for body in bodies:
        rtype = body.get("resourceType")
        if rtype == "AllergyIntolerance":
            if _status_code(body.get("verificationStatus")) != "entered-in-error":
                sections["allergies"].append(body)
        elif rtype in ("MedicationStatement", "MedicationRequest"):
            if body.get("status") in ("active", "intended", "on-hold"):
                sections["medications"].append(body)
        elif rtype == "Condition":
            if _status_code(body.get("clinicalStatus")) in _ACTIVE_CLINICAL:
                sections["problems"].append(body)
        elif rtype == "Immunization":
            if body.get("status") == "completed":
                sections["immunizations"].append(body)
        elif rtype == "Observation" and body.get("status") in ("final", "amended", "corrected"):
            for category in ("laboratory", "vital-signs"):
                if category in _categories(body):
                    observations[category].append(body)
    sections["results"] = _latest_per_code(observations["laboratory"], 50)
    sections["vitals"] = _latest_per_code(observations["vital-signs"], 20)
    sections["immunizations"].sort(key=lambda b: b.get("occurrenceDateTime") or "", reverse=True)
    return sections


def _describe(body, terms):
    """One narrative line as safe XHTML: code names from `terms` (untranslated ones marked
    with their own lang), values as stored."""
    rtype = body["resourceType"]
    if rtype in ("MedicationStatement", "MedicationRequest"):
        return conditional_escape(
            terms.concept(body.get("medicationCodeableConcept"), default="Medication")
        )
    if rtype == "Immunization":
        date = (body.get("occurrenceDateTime") or "")[:10]
        name = conditional_escape(terms.concept(body.get("vaccineCode")))
        return f"{name} {conditional_escape(date)}".strip()
    if rtype == "Observation":
        quantity = body.get("valueQuantity") or {}
        value = f"{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
        if not value:
            value = concept_text(body.get("valueCodeableConcept")) or body.get("valueString", "")
        name = conditional_escape(terms.concept(body.get("code")))
        return f"{name}: {conditional_escape(value)} ({conditional_escape(_effective(body)[:10])})"
    return conditional_escape(terms.concept(body.get("code"), default=rtype))


def _narrative(items, terms):
    if not items:
        inner = f"<p>{conditional_escape(gettext('No information available.'))}</p>"
    else:
        inner = "<ul>" + "".join(f"<li>{_describe(b, terms)}</li>" for b in items) + "</ul>"
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{inner}</div>',
    }


def summary_document(patient_id, requester, base, language=None):
    """Patient/{id}/$summary: an IPS document Bundle (Composition first) as a dict
    (audited). Its narratives and section titles are in `language` (a key of the terminology
    table, or a tag such as "zh-Hant"), English by default: the reader's, from the
    terminology table, one query for the document."""
    key = language_key(language or "en") or "en"
    with translation.override(TAGS[key].lower()):
        return _summary_document(patient_id, requester, base, key)


def _summary_document(patient_id, requester, base, key):
    patient = store.read_resource("Patient", patient_id, requester=requester, detail="$summary")
    types = _readable_types(
        requester,
        [
            "AllergyIntolerance",
            "MedicationStatement",
            "MedicationRequest",
            "Condition",
            "Immunization",
            "Observation",
        ],
    )
    rows = Resource.objects.filter(
        patient_id=patient.resource_id, deleted=False, resource_type__in=types
    ).values_list("resource_type", "body")
    bodies = [json.loads(body) for _rtype, body in rows]
    sections = summary_sections(bodies)
    patient_body = json.loads(patient.body)
    now = format_instant(timezone.now())

    def url(body):
        return f"{base}/{body['resourceType']}/{body['id']}"

    terms = Terms(key)
    titles = {code: terms.coding(LOINC, code, title) for _key, code, title, _req in SECTIONS}
    composition_sections = []
    included = []
    for section_key, code, title, _required in SECTIONS:
        items = sections[section_key]
        section = {
            "title": str(titles[code]),
            "code": {"coding": [{"system": LOINC, "code": code, "display": title}]},
            "text": _narrative(items, terms),
        }
        if items:
            section["entry"] = [{"reference": url(b)} for b in items]
            included.extend(items)
        else:
            section["emptyReason"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                        "code": "unavailable",
                        "display": "Unavailable",
                    }
                ]
            }
        composition_sections.append(section)
    author = patient_body.get("managingOrganization") or {"display": "District Portal"}
    composition = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]
        },
        "subject": {"reference": f"{base}/Patient/{patient.resource_id}"},
        "date": now,
        "author": [author],
        "title": "International Patient Summary",
        "language": TAGS[key],
        "confidentiality": "N",
        "section": composition_sections,
    }
    entries = [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}]
    entries.append({"fullUrl": url(patient_body), "resource": patient_body})
    entries += [{"fullUrl": url(b), "resource": b} for b in included]
    audit = requester.audit
    with audit.collecting():
        for body in included:
            audit.add_many("read", body["resourceType"], patient.resource_id, detail="$summary")
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    }


def export_bundle(patient_id, requester, base):
    """The patient's whole record as a collection Bundle (JSON text): every resource
    $everything returns, for a resident's download; audited as an export."""
    patient = store.read_resource("Patient", patient_id, requester=requester, detail="download")
    found = Everything(patient, requester)
    entries = []
    audit = requester.audit
    with audit.collecting():
        for row in found.rows(0, len(found)):
            entries.append(entry_text(f"{base}/{row.resource_type}/{row.resource_id}", row.body))
            if row.patient_id and row.pk != patient.pk:
                audit.add_many("export", row.resource_type, row.patient_id, detail="download")
    head = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": format_instant(timezone.now()),
    }
    return bundle_text(head, entries)


def _everything_operation(call):
    return everything(call.resource_id, call.params, call.requester, call.base)


def _summary_operation(call):
    """`displayLanguage` (zh-Hant, zh-Hans or en, as for CodeSystem/$lookup) picks the
    language of the narratives and section titles."""
    language = None
    for name, value in call.params:
        if name != "displayLanguage":
            raise FhirError(400, f"$summary does not support {name}", code="not-supported")
        language = value
    if language is not None and language_key(language) is None:
        raise FhirError(
            400,
            f"displayLanguage {language[:40]!r} is not one of zh-Hant, zh-Hans, en",
            code="not-supported",
            expression="displayLanguage",
        )
    return summary_document(call.resource_id, call.requester, call.base, language)


register_operation(
    "everything",
    _everything_operation,
    resource_type="Patient",
    instance=True,
    definition="http://hl7.org/fhir/OperationDefinition/Patient-everything",
)
register_operation(
    "summary",
    _summary_operation,
    resource_type="Patient",
    instance=True,
    definition="http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
)
