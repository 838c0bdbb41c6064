from django.urls import path, register_converter

from . import views


class IdConverter:
    """A database id: at most 18 digits, so a huge number in the URL is a 404, not an
    integer overflow in the database driver."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "booking_id")

app_name = "booking"
urlpatterns = [
    path("", views.index, name="index"),
    path("service/<slug:service>/", views.clinics, name="clinics"),
    path("clinic/<booking_id:clinic_id>/<slug:service>/", views.clinic_days, name="clinic_days"),
    path("slot/<booking_id:slot_id>/book/", views.book, name="book"),
    path("slot/<booking_id:slot_id>/waitlist/", views.waitlist_join, name="waitlist_join"),
    path("appointments/", views.appointments, name="appointments"),
    path("appointments/<booking_id:pk>/", views.appointment, name="appointment"),
    path(
        "appointments/<booking_id:pk>/calendar.ics", views.appointment_ics, name="appointment_ics"
    ),
    path("appointments/<booking_id:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<booking_id:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("household/", views.dependants, name="dependants"),
    path("household/<booking_id:pk>/remove/", views.dependant_remove, name="dependant_remove"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<booking_id:pk>/accept/", views.waitlist_accept, name="waitlist_accept"),
    path("waitlist/<booking_id:pk>/leave/", views.waitlist_leave, name="waitlist_leave"),
]
