"""My page's part of "download all my data": the resident's panel layout."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import PanelLayout


@register_export_part("mypage", _("My page layout"), order=20)
def export_layout(user, archive):
    layout = PanelLayout.objects.filter(user=user).first()
    archive.write_json(
        "mypage/layout.json",
        {"order": layout.order, "hidden": layout.hidden} if layout else {"order": [], "hidden": []},
    )


@register_closure_rule("mypage", order=20)
class LayoutOnClosure:
    def describe(self, user):
        return []  # said with the account's own rule: preferences are erased

    def apply(self, user, now):
        PanelLayout.objects.filter(user=user).delete()
