"""How social security cards plug into the portal: the My page panel, the officers' pages in
the Wagtail admin, their line on the staff dashboard, and the demo data."""

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem

from portal import scoping

from . import admin_views
from .models import CardApplication
from .panels import CardPanel


@hooks.register("register_mypage_panel")
def register_card_panel():
    return CardPanel()


@hooks.register("register_admin_urls")
def register_officer_urls():
    return [
        path("cards/", admin_views.application_list, name="cards_admin_list"),
        path("cards/<int:pk>/", admin_views.application_detail, name="cards_admin_application"),
        path("cards/<int:pk>/photo/", admin_views.application_photo, name="cards_admin_photo"),
        path("cards/batches/", admin_views.create_batch, name="cards_admin_create_batch"),
        path("cards/batches/<int:pk>/", admin_views.batch_detail, name="cards_admin_batch"),
    ]


class OfficerMenuItem(MenuItem):
    def is_shown(self, request):
        return scoping.has_permission(request.user, CardApplication)


@hooks.register("register_admin_menu_item")
def register_cards_menu_item():
    return OfficerMenuItem(
        _("Card applications"), reverse("cards_admin_list"), icon_name="user", order=285
    )


@hooks.register("register_staff_today")
def officer_today(request):
    from portal.accounts.dashboard import TodayItem

    from .models import ApplicationState

    if not scoping.has_permission(request.user, CardApplication, scoping.ACT):
        return []
    to_check = scoping.visible(request.user, CardApplication).filter(
        state__in=(ApplicationState.SUBMITTED, ApplicationState.RESUBMITTED)
    )
    return [
        TodayItem(
            title=_("Check card applications"),
            url=reverse("cards_admin_list"),
            description=_("Approve photos and data, make production batches, hand out cards."),
            count=to_check.count(),
            order=15,
        )
    ]


@hooks.register("load_demo_data", order=10)
def load_cards_demo(stdout):
    from .demo import load

    load(stdout)
