from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("on-time/", views.on_time, name="on_time"),
    path("cases/", views.my_cases, name="my_cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/form/", views.edit_draft, name="edit"),
    path("cases/<int:pk>/check/", views.check_answers, name="check"),
    path("cases/<int:pk>/submit/", views.submit_case, name="submit"),
    path("cases/<int:pk>/sent/", views.confirmation, name="confirmation"),
    path("cases/<int:pk>/delete/", views.delete_draft, name="delete_draft"),
    path("cases/<int:pk>/message/", views.send_message, name="message"),
    path("cases/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("cases/<int:pk>/correct/", views.correct, name="correct"),
    path("cases/<int:pk>/documents/<int:document_pk>/", views.download_document, name="document"),
    path("<slug:code>/", views.service_detail, name="service"),
    path("<slug:code>/apply/", views.apply, name="apply"),
]
