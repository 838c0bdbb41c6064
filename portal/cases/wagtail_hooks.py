"""How service cases plug into the portal: the catalogue in the Wagtail admin (offices,
services with their application forms and status wording, edited without code)."""

from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

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
