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


@hooks.register("register_staff_today")
def officer_today(request):
    """On the back office's dashboard: the office's open cases, how many are overdue, and the
    window and the hotline."""
    from django.utils import timezone

    from portal.accounts.dashboard import TodayItem

    from . import services
    from .models import OPEN_STATES

    if not request.user.has_perm("cases.change_case"):
        return []
    open_cases = services.office_cases(request.user).filter(state__in=OPEN_STATES)
    overdue = open_cases.filter(due_date__lt=timezone.localdate()).count()
    return [
        TodayItem(
            title=_("Work your office's case queue"),
            url=reverse("cases_admin_queue"),
            description=_("Accept new applications, ask for corrections, decide."),
            count=open_cases.count(),
            order=10,
        ),
        TodayItem(
            title=_("Overdue cases"),
            url=reverse("cases_admin_queue") + "?risk=overdue",
            description=_("Cases past the date the resident was promised."),
            count=overdue,
            order=11,
        ),
        TodayItem(
            title=_("File at the window"),
            url=reverse("cases_admin_window"),
            description=_("Apply for a resident at the counter, with or without an account."),
            order=12,
        ),
        TodayItem(
            title=_("District hotline"),
            url=reverse("cases_admin_hotline"),
            description=_("Record an enquiry or complaint from a call."),
            order=13,
        ),
    ]
