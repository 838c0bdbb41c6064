"""Clinic staff screens inside the Wagtail admin: find a patient, see and edit the record,
issue activation codes, import Bundles. Every read and write goes through the FHIR store
with the staff member's Requester, so it is validated and audited like an API call."""

import json
import tempfile
from functools import wraps
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from health.fhir.errors import FhirError, PreconditionFailed
from health.fhir.search import search_page
from portal.accounts.roles import CLINIC_STAFF, has_role

from . import emergency, services, staff
from .admin_forms import (
    CodedEntryForm,
    EmergencyAccessForm,
    EncounterNoteForm,
    ImportForm,
    PatientSearchForm,
    VitalSignsForm,
)


def clinic_staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user, CLINIC_STAFF):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _requester(request):
    from health.fhir.access import requester_for_user

    return requester_for_user(request.user)


@clinic_staff_required
def patient_search(request):
    form = PatientSearchForm(request.GET or None)
    patients = []
    if form.is_valid() and any(form.cleaned_data.values()):
        params = [("_count", "50")]
        if form.cleaned_data["name"]:
            params.append(("name", form.cleaned_data["name"]))
        if form.cleaned_data["identifier"]:
            params.append(("identifier", form.cleaned_data["identifier"]))
        if form.cleaned_data["birth_date"]:
            params.append(("birthdate", form.cleaned_data["birth_date"].isoformat()))
        page = search_page(
            "Patient", params, _requester(request), count_total=False, detail="staff search"
        )
        for row in page.matches:
            body = json.loads(row.body)
            patients.append(
                {
                    "id": row.resource_id,
                    "name": _name(body),
                    "birth_date": body.get("birthDate", ""),
                    "identifiers": ", ".join(
                        i.get("value", "") for i in body.get("identifier", [])
                    ),
                }
            )
    context = {
        "form": form,
        "patients": patients,
        "can_open_others": not request.user.is_superuser,
    }
    return render(request, "records/admin/search.html", context)


@clinic_staff_required
def emergency_access(request):
    """Break-glass (health/records/emergency.py): open a record the staff member's clinics
    do not know, with a reason that is recorded."""
    form = EmergencyAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            access = emergency.grant(
                request.user, form.cleaned_data["patient"], form.cleaned_data["reason"]
            )
        except emergency.EmergencyAccessError as error:
            form.add_error(None, str(error))
        else:
            messages.warning(
                request,
                _("This record is open to you until %(until)s. Your reason has been recorded.")
                % {"until": formats.date_format(localtime(access.expires_at), "DATETIME_FORMAT")},
            )
            return redirect("records_admin:patient", patient_id=access.patient_id)
    context = {
        "form": form,
        "title": _("Open a record in an emergency"),
        "hours": emergency.hours(),
    }
    return render(request, "records/admin/emergency.html", context)


def _name(body):
    for name in body.get("name") or []:
        text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
        if text.strip():
            return text.strip()
    return ""


@clinic_staff_required
def patient_detail(request, patient_id):
    record = services.Record(request.user, patient_id)
    with record.collecting():
        return _patient_detail(request, record, patient_id)


def _patient_detail(request, record, patient_id):
    try:
        patient = record.patient()
    except FhirError as error:
        raise PermissionDenied if error.status == 403 else _not_found() from None
    allergies, conditions = record.allergies(), record.conditions()
    immunizations, vitals = record.immunizations(), record.latest_vitals()
    for kind, items in (
        ("allergy", allergies),
        ("condition", conditions),
        ("immunization", immunizations),
        ("vitals", [v for v in vitals if v.code in staff.VITAL_FIELDS]),
    ):
        for item in items:
            if item.resource_id and item.version:
                item.edit_url = reverse(
                    "records_admin:edit", args=[patient_id, kind, item.resource_id]
                )
    encounters = record.encounters(count=20)
    noted = staff.note_encounter_ids(record.requester, patient_id) if encounters else set()
    for item in encounters:
        if item.resource_id in noted:
            item.edit_url = reverse(
                "records_admin:edit", args=[patient_id, "note", item.resource_id]
            )
    documents = record.documents()
    for item in documents:
        if item.code == "data":
            item.open_url = reverse("records_admin:document", args=[patient_id, item.resource_id])
    context = {
        "patient_id": patient_id,
        "patient": patient,
        "name": _name(patient),
        "documents": documents,
        "allergies": allergies,
        "conditions": conditions,
        "medications": record.medications(),
        "immunizations": immunizations,
        "vitals": vitals,
        "encounters": encounters,
        "new_code": request.session.pop("records_new_code", None),
    }
    return render(request, "records/admin/patient.html", context)


def _not_found():
    from django.http import Http404

    return Http404("No such patient")


@clinic_staff_required
@require_POST
def activation_code(request, patient_id):
    try:
        _record, code = services.create_activation_code(patient_id, request.user)
    except FhirError:
        raise _not_found() from None
    # Shown once on the next page; never stored in clear.
    request.session["records_new_code"] = code
    return redirect("records_admin:patient", patient_id=patient_id)


FORMS = {
    "vitals": (VitalSignsForm, gettext_lazy("Add vital signs")),
    "condition": (CodedEntryForm, gettext_lazy("Add a condition")),
    "allergy": (CodedEntryForm, gettext_lazy("Add an allergy")),
    "immunization": (CodedEntryForm, gettext_lazy("Add an immunization")),
    "note": (EncounterNoteForm, gettext_lazy("Add an encounter note")),
}


@clinic_staff_required
def add_entry(request, patient_id, kind):
    if kind not in FORMS:
        raise _not_found()
    form_class, title = FORMS[kind]
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if kind == "vitals":
                staff.add_vital_signs(request.user, patient_id, data)
            elif kind == "condition":
                staff.add_condition(
                    request.user, patient_id, data["text"], data["code"], data["date"]
                )
            elif kind == "allergy":
                staff.add_allergy(request.user, patient_id, data["text"], data["code"])
            elif kind == "immunization":
                staff.add_immunization(
                    request.user, patient_id, data["text"], data["code"], data["date"]
                )
            else:
                staff.add_encounter_note(request.user, patient_id, data["note"], data["reason"])
        except FhirError as error:
            form.add_error(None, "; ".join(i.get("diagnostics", "") for i in error.issues))
        else:
            messages.success(request, _("Saved to the health record."))
            return redirect("records_admin:patient", patient_id=patient_id)
    return render(
        request,
        "records/admin/form.html",
        {"form": form, "title": title, "patient_id": patient_id},
    )


EDIT_TITLES = {
    "vitals": gettext_lazy("Correct vital signs"),
    "condition": gettext_lazy("Correct a condition"),
    "allergy": gettext_lazy("Correct an allergy"),
    "immunization": gettext_lazy("Correct an immunization"),
    "note": gettext_lazy("Correct an encounter note"),
}
CHANGED_MEANWHILE = gettext_lazy(
    "This entry was changed by someone else meanwhile; reload it to see the current values "
    "before correcting it."
)


@clinic_staff_required
def edit_entry(request, patient_id, kind, resource_id):
    """Correct an entry with its add form, pre-filled; saved as a new version (If-Match)."""
    if kind not in staff.EDITABLE:
        raise _not_found()
    try:
        stored, version = staff.load_entry(request.user, kind, patient_id, resource_id)
    except FhirError as error:
        raise PermissionDenied if error.status == 403 else _not_found() from None
    form_class = FORMS[kind][0]
    if request.method == "POST":
        form = form_class(request.POST)
        version = request.POST.get("version", "")
    else:
        form = form_class(initial=staff.form_initial(kind, stored))
    if kind == "vitals":
        # One stored Observation holds one measurement (or the blood pressure pair).
        keep = staff.VITAL_FIELDS[staff.vital_code(stored[0])]
        for name in [name for name in form.fields if name not in keep]:
            del form.fields[name]
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            staff.edit_entry(
                request.user, kind, patient_id, resource_id, form.cleaned_data, version
            )
        except PreconditionFailed:
            form.add_error(None, CHANGED_MEANWHILE)
            status = 409
        except FhirError as error:
            form.add_error(None, "; ".join(i.get("diagnostics", "") for i in error.issues))
        else:
            messages.success(request, _("Correction saved to the health record."))
            return redirect("records_admin:patient", patient_id=patient_id)
    context = {
        "form": form,
        "title": EDIT_TITLES[kind],
        "patient_id": patient_id,
        "version": version,
        "conflict": status == 409,
    }
    return render(request, "records/admin/form.html", context, status=status)


@clinic_staff_required
@require_POST
def entered_in_error(request, patient_id, resource_type, resource_id):
    try:
        staff.mark_entered_in_error(
            request.user, resource_type, resource_id, request.POST.get("version", "")
        )
    except FhirError as error:
        messages.error(request, "; ".join(i.get("diagnostics", "") for i in error.issues))
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Marked as entered in error."))
    return redirect("records_admin:patient", patient_id=patient_id)


@clinic_staff_required
def import_bundle(request):
    from health.fhir.access import requester_for_user
    from health.fhir.importer import import_files

    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = ".ndjson" if upload.name.endswith(".ndjson") else ".json"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            with open(path, "wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            report = import_files([path], requester_for_user(request.user), "urn:import")
    return render(request, "records/admin/import.html", {"form": form, "report": report})


@clinic_staff_required
def document(request, patient_id, resource_id):
    """A document of a patient the staff member's clinic may see, opened or downloaded like
    the resident's own (health.records.views.document_response)."""
    from .views import document_response

    record = services.Record(request.user, patient_id)
    try:
        with record.collecting():
            file = record.document_file(resource_id)
    except FhirError as error:
        raise PermissionDenied if error.status == 403 else _not_found() from None
    if file is None:
        raise _not_found()
    return document_response(file, download=request.GET.get("download") == "1")
