from django.urls import path

from . import views

urlpatterns = [
    path("profile/", views.profile_edit, name="profile_edit"),
    path("settings/", views.account_settings, name="account_settings"),
    path("close/", views.close_account, name="account_close"),
    path("close/confirm/", views.close_account_confirm, name="account_close_confirm"),
    path("closed/", views.account_closed, name="account_closed"),
    path("data/", views.data_export, name="account_data_export"),
    path("data/<uuid:export_id>/", views.data_export_status, name="account_data_export_status"),
    path(
        "data/<uuid:export_id>/download/",
        views.data_export_download,
        name="account_data_export_download",
    ),
]
