"""How clinic booking plugs into the portal: its My page panel (panels.py), the staff side in
the Wagtail admin (admin_viewsets.py and the day list in admin_views.py) and demo data
(demo.py)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks

from . import admin_views, demo
from .admin_viewsets import BookingViewSetGroup
from .panels import NextAppointmentsPanel


@hooks.register("register_mypage_panel")
def register_appointments_panel():
    return NextAppointmentsPanel()


@hooks.register("register_admin_viewset")
def register_booking_viewsets():
    return BookingViewSetGroup()


@hooks.register("register_admin_urls")
def register_day_list_url():
    return [
        path(
            "booking/day/",
            admin_views.day_list,
            name="booking_day_list",
        ),
        path("booking/appointment/<str:pk>/", admin_views.appointment, name="booking_appointment"),
    ]


@hooks.register("register_admin_menu_item")
def register_day_list_menu_item():
    return admin_views.DayListMenuItem(
        _("Clinic day list"), reverse("booking_day_list"), icon_name="list-ul", order=290
    )


hooks.register("load_demo_data", demo.load_booking_demo)
