from django.urls import path

from . import admin_views

app_name = "smart_admin"

urlpatterns = [
    path("", admin_views.app_list, name="apps"),
    path("new/", admin_views.app_register, name="app-register"),
    path("<int:pk>/", admin_views.app_edit, name="app-edit"),
    path("<int:pk>/delete/", admin_views.app_delete, name="app-delete"),
]
