from django.urls import path

from . import admin_views

app_name = "fhir_admin"

urlpatterns = [
    path("", admin_views.token_list, name="tokens"),
    path("new/", admin_views.token_issue, name="token-issue"),
    path("<slug:key_id>/revoke/", admin_views.token_revoke, name="token-revoke"),
]
