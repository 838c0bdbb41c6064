"""The resident's health record pages.

Every page works on the Patient the signed-in account is linked to, never on an id from
the URL, so there is no URL that could show another resident's record.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from health.fhir import links
from health.fhir.errors import FhirError
from health.fhir.models import AuditEvent
from health.terminology.services import Terms

from . import labels, services
from .charts import build_chart
from .forms import LinkRecordForm

SECTIONS = {
    "allergies": gettext_lazy("Allergies"),
    "conditions": gettext_lazy("Conditions"),
    "medications": gettext_lazy("Medications"),
    "immunizations": gettext_lazy("Immunizations"),
    "encounters": gettext_lazy("Visits"),
    "documents": gettext_lazy("Documents"),
    "appointments": gettext_lazy("Appointments"),
}

CHART_TITLES = {
    "blood-pressure": gettext_lazy("Blood pressure"),
    "weight": gettext_lazy("Body weight"),
    "bmi": gettext_lazy("Body mass index (BMI)"),
    "glucose": gettext_lazy("Blood glucose"),
    "hba1c": gettext_lazy("HbA1c"),
    "cholesterol": gettext_lazy("Total cholesterol"),
}
LINE_LABELS = {
    "blood-pressure": {"8480-6": gettext_lazy("Systolic"), "8462-4": gettext_lazy("Diastolic")},
}


RECORD_GONE = gettext_lazy(
    "Your clinic record is no longer available. Enter a new activation code from your clinic."
)


def _not_linked(request):
    """The linking invitation; says why when the account's only links are to deleted records."""
    stale = links.has_links(request.user)
    return render(
        request,
        "records/not_linked.html",
        {"form": LinkRecordForm(), "record_gone": RECORD_GONE if stale else ""},
    )


def _record_or_none(request):
    return services.Record.of(request.user)


def _patient_name(patient):
    for name in patient.get("name") or []:
        if name.get("text"):
            return name["text"]
        parts = [*name.get("given", []), name.get("family", "")]
        text = " ".join(p for p in parts if p)
        if text:
            return text
    return ""


def _render_record(request, template, record, context):
    try:
        patient = record.patient()
    except FhirError:
        # The Patient was deleted between the link check and this read.
        return render(
            request,
            "records/not_linked.html",
            {"form": LinkRecordForm(), "record_gone": RECORD_GONE},
        )
    response = render(
        request,
        template,
        {
            "patient": patient,
            "patient_name": _patient_name(patient),
            "sections": SECTIONS,
            **context,
        },
    )
    return response


@login_required
def index(request):
    record = _record_or_none(request)
    if record is None:
        return _not_linked(request)
    with record.collecting():
        context = {
            "allergies": record.allergies(),
            "conditions": record.conditions(active_only=True),
            "medications": record.medications(active_only=True),
            "vitals": record.latest_vitals(),
            "next_immunization": record.next_immunization_due(),
        }
        return _render_record(request, "records/index.html", record, context)


@login_required
@require_http_methods(["GET", "POST"])
def link(request):
    form = LinkRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.redeem_activation_code(
                request.user, form.cleaned_data["code"], form.cleaned_data["birth_date"]
            )
        except services.LinkError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your health record is now linked to your account."))
            return redirect("records:index")
    return render(request, "records/link.html", {"form": form})


@login_required
def section(request, slug):
    if slug not in SECTIONS:
        raise Http404
    record = _record_or_none(request)
    if record is None:
        return redirect("records:index")
    if slug == "appointments":
        upcoming, recent = services.clinic_appointments(request.user)
        return _render_record(
            request,
            "records/appointments.html",
            record,
            {"slug": slug, "title": SECTIONS[slug], "upcoming": upcoming, "recent": recent},
        )
    loaders = {
        "allergies": record.allergies,
        "conditions": record.conditions,
        "medications": record.medications,
        "immunizations": record.immunizations,
        "encounters": lambda: record.encounters(count=services.section_limit("encounters")),
        "documents": record.documents,
    }
    with record.collecting():
        items = loaders[slug]()
        page = Paginator(items, 50).get_page(request.GET.get("page"))
        return _render_record(
            request,
            "records/section.html",
            record,
            {"slug": slug, "title": SECTIONS[slug], "page": page, "limit": record.truncated_at},
        )


@login_required
def document(request, resource_id):
    """One of the record's documents, opened in the browser where that is safe (PDF, pictures,
    plain text) or downloaded, with its own name and type. Only the record's own documents:
    another resident's id is a 404, as in the API."""
    record = _record_or_none(request)
    if record is None:
        return redirect("records:index")
    try:
        with record.collecting():
            file = record.document_file(resource_id)
    except FhirError:
        raise Http404 from None
    if file is None:
        raise Http404
    return document_response(file, download=request.GET.get("download") == "1")


def document_response(file, *, download=False):
    """The HTTP answer for a DocumentFile: never cached, never sniffed, never scripted."""
    from django.utils.cache import add_never_cache_headers
    from django.utils.http import content_disposition_header

    response = HttpResponse(file.content, content_type=file.content_type)
    inline = file.viewable and not download
    response["Content-Disposition"] = content_disposition_header(not inline, file.filename)
    response["X-Content-Type-Options"] = "nosniff"
    # Even a viewable file runs no script and reaches nothing else of the portal.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    add_never_cache_headers(response)
    return response


@login_required
def results(request):
    record = _record_or_none(request)
    if record is None:
        return redirect("records:index")
    with record.collecting():
        return _render_results(request, record)


def _render_results(request, record):
    charts = []
    for slug, _title, chart_codes, components in services.CHARTS:
        observations = record.series(chart_codes[0])
        points = services.chart_points(observations, chart_codes[0], components)
        line_labels = LINE_LABELS.get(slug) or {"value": CHART_TITLES[slug]}
        chart = build_chart(slug, CHART_TITLES[slug], points, line_labels)
        if chart is not None:
            # The description's lowest and highest readings, with the unit label.
            chart.low_text = labels.with_unit(floatformat(chart.minimum, -1), chart.unit)
            chart.high_text = labels.with_unit(floatformat(chart.maximum, -1), chart.unit)
            charts.append(chart)
    return _render_record(
        request,
        "records/results.html",
        record,
        {"charts": charts, "chart_limit": services.chart_points_limit()},
    )


@login_required
def download(request):
    patient_id = services.linked_patient_id(request.user)
    if patient_id is None:
        return redirect("records:index")
    base = request.build_absolute_uri(reverse("fhir:root")).rstrip("/")
    try:
        text = services.everything_bundle(request.user, patient_id, base)
    except FhirError:
        return redirect("records:index")
    response = HttpResponse(text, content_type="application/fhir+json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="health-record-{stamp}.json"'
    return response


@login_required
def summary(request):
    """The printable summary: the IPS document from $summary, laid out for paper."""
    from health.fhir.access import requester_for_user
    from health.fhir.patient_operations import summary_document

    patient_id = services.linked_patient_id(request.user)
    if patient_id is None:
        return redirect("records:index")
    requester = requester_for_user(request.user)
    base = request.build_absolute_uri(reverse("fhir:root")).rstrip("/")
    try:
        with requester.audit.collecting():
            document = summary_document(patient_id, requester, base)
    except FhirError:
        return redirect("records:index")
    resources = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    composition = document["entry"][0]["resource"]
    patient = document["entry"][1]["resource"]
    sections = []
    terms = Terms()  # every line's name in one query
    for part in composition["section"]:
        items = []
        for ref in part.get("entry", []):
            body = resources.get(ref["reference"])
            if body:
                items.append(_summary_line(body, terms))
        sections.append({"title": labels.summary_section_title(part), "items": items})
    return render(
        request,
        "records/summary.html",
        {
            "patient": patient,
            "patient_name": _patient_name(patient),
            "birth_date": services.parse_birth_date(patient.get("birthDate")),
            "generated": timezone.now(),
            "summary_sections": sections,
        },
    )


def _summary_line(body, terms):
    """One line of the printable summary; `terms` (a Terms) names the codes."""
    rtype = body["resourceType"]
    concept = {
        "MedicationRequest": "medicationCodeableConcept",
        "MedicationStatement": "medicationCodeableConcept",
        "Immunization": "vaccineCode",
    }.get(rtype, "code")
    label = terms.concept(body.get(concept))
    value = services.observation_value(body) if rtype == "Observation" else ""
    return {"label": label, "value": value, "when": services.parse_moment(services.effective(body))}


@login_required
def access_log(request):
    """Who looked at or changed my record: every audit row for the Patient the pages show.

    Other people are named by role and display name, never by their account name (an
    e-mail address).
    """
    patient_id = services.linked_patient_id(request.user)
    if patient_id is None:
        return redirect("records:index")
    events = AuditEvent.objects.filter(patient_id=patient_id).select_related("user__profile")
    # Other people's and apps' accesses first; the resident's own views (most of the rows)
    # are folded away behind a filter, so a nurse's visit is not buried under them.
    # An app acting for the resident is not "your own view": it stays in the list.
    mine = Q(user=request.user, app="")
    show_mine = request.GET.get("show") == "all"
    own_count = events.filter(mine).count()
    if not show_mine:
        events = events.exclude(mine)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for event in page.object_list:
        event.who = _who(event, request.user)
        event.what = labels.resource_type_label(event.resource_type)
    return render(
        request,
        "records/access_log.html",
        {"page": page, "show_mine": show_mine, "own_count": own_count},
    )


WHO_BY_ROLE = {
    "clinic-staff": gettext_lazy("Clinic staff"),
    "system": gettext_lazy("Health system"),
    "resident": gettext_lazy("Another account linked to this record"),
}


def _who(event, me):
    if event.app:
        # A connected app acting for someone: named as the resident knows it.
        if event.user_id is not None and event.user_id == me.pk:
            return _("%(app)s, for you") % {"app": event.app}
        return event.app
    if event.user_id is not None and event.user_id == me.pk:
        return _("You")
    if event.user is not None:
        profile = getattr(event.user, "profile", None)
        name = (profile.display_name if profile else "").strip()
        if name and "@" not in name:
            return name
    return WHO_BY_ROLE.get(event.role, gettext_lazy("Someone else"))
