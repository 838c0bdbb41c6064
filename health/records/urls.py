from django.urls import path

from . import converters, views  # noqa: F401 (converters registers fhir_id)

app_name = "records"

urlpatterns = [
    path("", views.index, name="index"),
    path("link/", views.link, name="link"),
    path("results/", views.results, name="results"),
    path("download/", views.download, name="download"),
    path("summary/", views.summary, name="summary"),
    path("access/", views.access_log, name="access-log"),
    path("documents/<fhir_id:resource_id>/", views.document, name="document"),
    path("<slug:slug>/", views.section, name="section"),
]
