"""How service cases plug into the portal: the catalogue in the Wagtail admin (offices,
services with their application forms and status wording, edited without code)."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from . import admin_views
from .models import Office, Service
from .panels import CasesPanel


@hooks.register("register_mypage_panel")
def register_cases_panel():
    return CasesPanel()


class OfficeViewSet(ModelViewSet):
    name = "case_offices"
    model = Office
    icon = "home"
    menu_label = _("Offices")
    copy_view_enabled = False
    list_display = ["code", Column("name", label=_("Name")), "kind", "community", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name_zh_hant", "name_zh_hans", "name_en"]


class ServiceViewSet(ModelViewSet):
    name = "case_services"
    model = Service
    icon = "form"
    menu_label = _("Services")
    copy_view_enabled = True
    list_display = [
        "code",
        Column("name", label=_("Name")),
        "office",
        "kind",
        "promised_days",
        "online",
        "is_active",
    ]
    list_filter = ["office", "kind", "online", "is_active"]
    search_fields = ["code", "name_zh_hant", "name_zh_hans", "name_en"]

    def get_queryset(self, request):
        return Service.objects.select_related("office")


class CatalogueViewSetGroup(ModelViewSetGroup):
    items = (OfficeViewSet, ServiceViewSet)
    menu_icon = "form"
    menu_label = _("Service catalogue")
    menu_name = "service-catalogue"
    menu_order = 320


@hooks.register("register_admin_viewset")
def register_catalogue_viewsets():
    return CatalogueViewSetGroup()


# Officers ----------------------------------------------------------------------------------------


@hooks.register("register_admin_urls")
def register_officer_urls():
    return [
        path("cases/", admin_views.queue, name="cases_admin_queue"),
        path("cases/dashboard/", admin_views.dashboard, name="cases_admin_dashboard"),
        path("cases/<int:pk>/", admin_views.case_detail, name="cases_admin_case"),
        path("cases/window/", admin_views.window, name="cases_admin_window"),
        path(
            "cases/window/<int:service_pk>/",
            admin_views.window_file,
            name="cases_admin_window_file",
        ),
        path("cases/hotline/", admin_views.hotline, name="cases_admin_hotline"),
        path("cases/identity/", admin_views.identity, name="cases_admin_identity"),
    ]


class OfficerMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("cases.view_case")


@hooks.register("register_admin_menu_item")
def register_queue_menu_item():
    return OfficerMenuItem(
        _("Case queue"), reverse("cases_admin_queue"), icon_name="tasks", order=280
    )


@hooks.register("load_demo_data")
def load_cases_demo(stdout):
    from .demo import load

    load(stdout)
