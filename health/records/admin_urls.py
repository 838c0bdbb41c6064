from django.urls import path

from . import admin_views, converters  # noqa: F401 (registers fhir_id, fhir_type)

app_name = "records_admin"

urlpatterns = [
    path("", admin_views.patient_search, name="search"),
    path("import/", admin_views.import_bundle, name="import"),
    path("emergency/", admin_views.emergency_access, name="emergency"),
    path("<fhir_id:patient_id>/", admin_views.patient_detail, name="patient"),
    path(
        "<fhir_id:patient_id>/documents/<fhir_id:resource_id>/",
        admin_views.document,
        name="document",
    ),
    path(
        "<fhir_id:patient_id>/activation-code/", admin_views.activation_code, name="activation-code"
    ),
    path("<fhir_id:patient_id>/add/<slug:kind>/", admin_views.add_entry, name="add"),
    path(
        "<fhir_id:patient_id>/edit/<slug:kind>/<fhir_id:resource_id>/",
        admin_views.edit_entry,
        name="edit",
    ),
    path(
        "<fhir_id:patient_id>/<fhir_type:resource_type>/<fhir_id:resource_id>/entered-in-error/",
        admin_views.entered_in_error,
        name="entered-in-error",
    ),
]
