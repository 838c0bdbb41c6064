from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("", views.index, name="index"),
    path("link/", views.link, name="link"),
    path("results/", views.results, name="results"),
    path("download/", views.download, name="download"),
    path("summary/", views.summary, name="summary"),
    path("access/", views.access_log, name="access-log"),
    path("documents/<str:resource_id>/", views.document, name="document"),
    path("<slug:slug>/", views.section, name="section"),
]
