from django.urls import path

from . import views

app_name = "transit"

urlpatterns = [
    path("", views.index, name="index"),
    path("stops/<slug:feed_code>/<path:stop_id>", views.stop_page, name="stop"),
    path("favourites/", views.favourites, name="favourites"),
    path("favourites/add/", views.favourite_add, name="favourite_add"),
    path("favourites/remove/", views.favourite_remove, name="favourite_remove"),
    path("api/v1/departures", views.api_departures, name="api_departures"),
    path("api/v1/openapi.json", views.api_openapi, name="api_openapi"),
]
