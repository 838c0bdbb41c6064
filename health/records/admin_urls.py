from django.urls import path

from . import admin_views

app_name = "records_admin"

urlpatterns = [
    path("", admin_views.patient_search, name="search"),
    path("import/", admin_views.import_bundle, name="import"),
    path("emergency/", admin_views.emergency_access, name="emergency"),
    path("<str:patient_id>/", admin_views.patient_detail, name="patient"),
    path(
        "<str:patient_id>/documents/<str:resource_id>/",
        admin_views.document,
        name="document",
    ),
    path("<str:patient_id>/activation-code/", admin_views.activation_code, name="activation-code"),
    path("<str:patient_id>/add/<slug:kind>/", admin_views.add_entry, name="add"),
    path(
        "<str:patient_id>/edit/<slug:kind>/<str:resource_id>/",
        admin_views.edit_entry,
        name="edit",
    ),
    path(
        "<str:patient_id>/<str:resource_type>/<str:resource_id>/entered-in-error/",
        admin_views.entered_in_error,
        name="entered-in-error",
    ),
]
