from django.urls import path

from . import views

app_name = "smart"

urlpatterns = [
    path("", views.apps, name="apps"),
    path("<int:connection_id>/disconnect/", views.disconnect, name="disconnect"),
]
