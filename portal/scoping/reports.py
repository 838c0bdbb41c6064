"""The admin's reports see what the object views see.

Wagtail's reports list log entries and pages. Pages are scoped by Wagtail's own page
permissions (editors' rule, `pages_for`), which its page reports (page history, aging
pages, locked pages, workflows, page types usage) already apply. Log entries of other models
(site history, `/admin/reports/site-history/`, with its filters' lists of users, types and
actions) are chosen by `viewable_by_user`, which Wagtail answers with the Django permission
alone: a nurse of clinic 1 would read clinic 2's closure reasons. `install()` narrows every
log entry model's `viewable_by_user` with `scope_log_entries`, so for a scoped model only the
entries of objects the user may see remain; the entries of objects deleted since are left
to superusers (nothing says any more whose they were).
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from . import _active, scoped_models, visible


def scope_log_entries(queryset, user):
    """`queryset` (log entries of any log entry model) without the entries of scoped objects
    the user may not see."""
    if _active(user) and user.is_superuser:
        return queryset
    models = scoped_models()
    if not models:
        return queryset
    hidden = Q()
    for model in models:
        content_types = ContentType.objects.get_for_models(
            model, for_concrete_models=False
        ).values()
        seen = (
            visible(user, model)
            .order_by()
            .annotate(object_id_text=Cast("pk", CharField()))
            .values("object_id_text")
        )
        hidden |= Q(content_type__in=list(content_types)) & ~Q(object_id__in=seen)
    return queryset.exclude(hidden)


def install():
    """Narrow Wagtail's `BaseLogEntryManager.viewable_by_user` (every log entry model's)
    with the staff scope. Called once from ScopingConfig.ready()."""
    from wagtail.models.audit_log import BaseLogEntryManager

    original = BaseLogEntryManager.viewable_by_user
    if getattr(original, "scoped", False):
        return

    def viewable_by_user(self, user):
        return scope_log_entries(original(self, user), user)

    viewable_by_user.scoped = True
    BaseLogEntryManager.viewable_by_user = viewable_by_user
