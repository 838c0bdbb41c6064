from django.urls import path

from . import views

urlpatterns = [
    path("profile/", views.profile_edit, name="profile_edit"),
    path("settings/", views.account_settings, name="account_settings"),
]
