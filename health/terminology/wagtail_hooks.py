"""Clinical terms in the Wagtail admin (clinic staff keep the names), and in the demo."""

from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import Term


class TermViewSet(ModelViewSet):
    model = Term
    icon = "tag"
    menu_label = _("Clinical terms")
    menu_order = 295
    add_to_admin_menu = True
    form_fields = ["system", "code", "display_en", "display_zh_hant", "display_zh_hans"]
    # Code and the three names: the system's URI is a filter, not a column (it does not wrap,
    # and the list must fit a phone).
    list_display = ["code", "names"]
    list_filter = ["system"]
    search_fields = ["code", "display_en", "display_zh_hant", "display_zh_hans"]
    list_per_page = 50


@hooks.register("register_admin_viewset")
def register_term_viewset():
    return TermViewSet("terminology")


def load_terms_demo(stdout):
    from .loading import load

    added, updated = load()
    stdout.write(f"Clinical terms: {added} added, {updated} updated.")


hooks.register("load_demo_data", load_terms_demo)
