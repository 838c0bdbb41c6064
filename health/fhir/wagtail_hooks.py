from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem


class SuperuserMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_superuser


@hooks.register("register_admin_urls")
def register_fhir_admin_urls():
    return [path("fhir/tokens/", include("health.fhir.admin_urls"))]


@hooks.register("register_settings_menu_item")
def register_tokens_menu_item():
    return SuperuserMenuItem(
        _("FHIR API tokens"), reverse("fhir_admin:tokens"), icon_name="key", order=900
    )
