"""Staff roles. Each role is a Django group created by migration; the names are stable keys."""

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

EDITORS = "Editors"
CLINIC_STAFF = "Clinic staff"
CASE_OFFICERS = "Case officers"
REVIEWERS = "Reviewers"  # publish the editors' pages (created by cms' migrations)

STAFF_GROUPS = {
    EDITORS: _("Editors"),
    CLINIC_STAFF: _("Clinic staff"),
    CASE_OFFICERS: _("Case officers"),
    REVIEWERS: _("Reviewers"),
}


def staff_roles(user):
    """The staff role names a user holds (empty for residents)."""
    if not user.is_authenticated:
        return []
    return [g.name for g in user.groups.all() if g.name in STAFF_GROUPS]


def _staff_groups_of(user):
    """The user's staff groups: `user` a user id, or an OuterRef to one inside a query."""
    return Group.objects.filter(user=user, name__in=list(STAFF_GROUPS))


# The signed-in user's staff-group membership, read with the user on each request
# (portal.accounts.backends); a name no other query gives a user.
STAFF_GROUP_FLAG = "_portal_in_staff_group"


def in_staff_group(user_field="pk"):
    """Whether the user of the surrounding query is in a staff group (an EXISTS): the user
    query's own row, or the user that `user_field` of another model's query points to."""
    return Exists(_staff_groups_of(OuterRef(user_field)))


def is_staff_member(user):
    """Whether the user works for the district: superuser, Django staff or in a staff group."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    read_with_user = getattr(user, STAFF_GROUP_FLAG, None)
    if read_with_user is not None:
        return bool(read_with_user)
    return _staff_groups_of(user.pk).exists()


def has_role(user, role):
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    in_any = getattr(user, STAFF_GROUP_FLAG, None)
    if role in STAFF_GROUPS and in_any is not None and not in_any:
        return False  # read with the user this request: in no staff group, so not in this one
    return user.groups.filter(name=role).exists()
