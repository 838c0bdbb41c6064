from django.urls import path

from . import views

app_name = "cards"

urlpatterns = [
    path("", views.index, name="index"),
    path("apply/", views.apply, name="apply"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/form/", views.edit, name="edit"),
    path("applications/<int:pk>/check/", views.check, name="check"),
    path("applications/<int:pk>/submit/", views.submit, name="submit"),
    path("applications/<int:pk>/sent/", views.confirmation, name="confirmation"),
    path("applications/<int:pk>/correct/", views.correct, name="correct"),
    path("applications/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<int:pk>/photo/", views.photo, name="photo"),
    path("cards/<int:pk>/lost/", views.report_lost, name="report_lost"),
]
