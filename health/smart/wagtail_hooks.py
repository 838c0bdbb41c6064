from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks

from health.fhir import links
from health.fhir.models import PatientLink
from health.fhir.wagtail_hooks import SuperuserMenuItem
from portal.mypage.panels import Panel

from . import services
from .models import Connection


@hooks.register("register_admin_urls")
def register_smart_admin_urls():
    return [path("health/apps/", include("health.smart.admin_urls"))]


@hooks.register("register_settings_menu_item")
def register_apps_menu_item():
    return SuperuserMenuItem(
        _("Residents' health apps"), reverse("smart_admin:apps"), icon_name="link", order=910
    )


class ConnectedAppsPanel(Panel):
    """My page: the apps connected to the resident's health record, with their last use.
    One query, and for whether to show it the account's links (read once with the health
    panel's) and, without any, whether it has a connection; kept per resident with the fragment,
    dropped when a record link or a connection is saved or deleted (an app removed deletes
    its connections) and when an app's last use is written (authentication.py and
    validator.py call `changed()`). An app's new name shows within `cache_seconds`."""

    slug = "health-apps"
    title = _("Connected health apps")
    order = 45
    template_name = "smart/panels/apps.html"
    cache_seconds = 60
    invalidated_by = {PatientLink: "user_id", Connection: "user_id"}

    def is_shown(self, request):
        # The account's links as the health panel reads them (once for both).
        linked, _usable = links.request_links(request)
        return bool(linked) or services.has_apps(request.user)

    def get_context_data(self, request):
        return {"connections": list(services.connections(request.user)[:5])}


@hooks.register("register_mypage_panel")
def register_apps_panel():
    return ConnectedAppsPanel()
