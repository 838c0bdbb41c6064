"""The back office dashboard's "What you can do today" panel, which every app adds to.

Staff land in the admin after signing in; this panel tells a case officer, an editor or a nurse
what the back office has for them today, with a link to each. Apps contribute through the
Wagtail hook `register_staff_today`: a function that takes the request and returns a list of
`TodayItem`s, empty when nothing applies to this user. It is called on every dashboard view,
so it must be cheap (a count at most):

    from wagtail import hooks
    from portal.accounts.dashboard import TodayItem

    @hooks.register("register_staff_today")
    def case_queue(request):
        if not request.user.has_perm("cases.change_case"):
            return []
        waiting = open_cases_for(request.user).count()
        return [
            TodayItem(
                title=_("Work your office's case queue"),
                url=reverse("cases_admin:queue"),
                description=_("Accept new applications, ask for corrections, decide."),
                count=waiting,
                order=10,
            )
        ]

An item that raises is logged and left out; the dashboard still renders.
"""

import logging
from dataclasses import dataclass

from wagtail import hooks
from wagtail.admin.ui.components import Component

from .roles import STAFF_GROUPS, staff_roles

logger = logging.getLogger(__name__)

HOOK_NAME = "register_staff_today"


@dataclass(frozen=True)
class TodayItem:
    """One thing a staff member can do: a title linked to where it is done, one sentence on
    what it is, and optionally how many things wait there."""

    title: str
    url: str
    description: str = ""
    count: int | None = None
    order: int = 100
    # For every member of staff (their own account), listed after the work of their role.
    general: bool = False


def today_items(request):
    """Every app's items for this user, in order; a failing contributor is left out."""
    items = []
    for fn in hooks.get_hooks(HOOK_NAME):
        try:
            items.extend(fn(request) or [])
        except Exception:
            logger.exception("Dashboard items from %r failed", getattr(fn, "__name__", fn))
    return sorted(items, key=lambda item: (item.order, str(item.title)))


class TodayPanel(Component):
    """Added to Wagtail's dashboard by `construct_homepage_panels`; first on the page."""

    name = "staff_today"
    order = 10
    template_name = "accounts/admin/today_panel.html"

    def __init__(self, request):
        self.request = request

    def get_context_data(self, parent_context=None):
        user = self.request.user
        roles = [STAFF_GROUPS[name] for name in staff_roles(user)]
        items = today_items(self.request)
        return {
            "work": [item for item in items if not item.general],
            "general": [item for item in items if item.general],
            "roles": roles,
            "is_superuser": user.is_superuser,
        }
