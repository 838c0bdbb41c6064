from django.urls import path, re_path

from . import views

app_name = "fhir"

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]+)"
ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"
OPERATION = r"\$(?P<operation>[a-z][A-Za-z0-9\-]{0,63})"

urlpatterns = [
    path("", views.root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    path("_history", views.system_history, name="system-history"),
    re_path(rf"^{OPERATION}$", views.system_operation, name="system-operation"),
    re_path(rf"^{TYPE}/{OPERATION}$", views.type_operation, name="type-operation"),
    re_path(rf"^{TYPE}/{ID}/{OPERATION}$", views.instance_operation, name="instance-operation"),
    re_path(rf"^{TYPE}$", views.type_endpoint, name="type"),
    re_path(rf"^{TYPE}/_search$", views.type_search, name="type-search"),
    re_path(rf"^{TYPE}/_history$", views.type_history, name="type-history"),
    re_path(rf"^{TYPE}/{ID}$", views.instance, name="instance"),
    re_path(rf"^{TYPE}/{ID}/_history$", views.instance_history, name="instance-history"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version_id>[0-9]{{1,9}})$", views.vread, name="vread"),
    # Anything else under /fhir/ answers in FHIR, not with the site's HTML 404 page.
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
