"""The My page panel, and the outbox in the Wagtail admin.

The admin views are read-only and for superusers, so staff can see failed deliveries.
Read-only because the outbox is a record of what the portal told residents: editing a sent
message or flipping a delivery's status by hand would make that record lie, and resending is
the delivery code's job (at most once per channel).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.permission_policies import BasePermissionPolicy
from wagtail.permissions import register_permission_policy

from portal.mypage.panels import Panel

from .context_processors import request_unread_count
from .models import Delivery, Message
from .services import inbox_messages, latest_and_unread


class InboxPanel(Panel):
    """My page: the latest messages and how many are unread."""

    slug = "inbox"
    title = _("Inbox")
    # After the panels of the services themselves; the resident can move it up.
    order = 90
    template_name = "notifications/panels/inbox.html"
    latest = 3
    # Cached per resident; dropped when a message of theirs is written or deleted, and when
    # one is folded into a burst or marked read (UPDATEs: services.py calls
    # portal.mypage.panels.changed). The count and the latest messages are both in it.
    cache_seconds = 300
    invalidated_by = {Message: "user_id"}

    def get_context_data(self, request):
        read = []

        def count():
            # Not kept for the header yet: the list and the count in one query.
            latest, unread = latest_and_unread(request.user, self.latest)
            read.append(latest)
            return unread

        unread = request_unread_count(request, count)
        latest = read[0] if read else list(inbox_messages(request.user)[: self.latest])
        return {"latest_messages": latest, "unread": unread}


@hooks.register("register_mypage_panel")
def register_inbox_panel():
    return InboxPanel()


class SuperuserReadOnlyPolicy(BasePermissionPolicy):
    """Superusers may look; nobody may add, change or delete."""

    def user_has_permission(self, user, action):
        return action == "view" and user.is_active and user.is_superuser

    def users_with_any_permission(self, actions):
        if "view" not in actions:
            return get_user_model().objects.none()
        return get_user_model().objects.filter(is_active=True, is_superuser=True)


# Registered at import time, before any viewset asks for a policy (Wagtail requires this).
register_permission_policy(Message, SuperuserReadOnlyPolicy(Message))
register_permission_policy(Delivery, SuperuserReadOnlyPolicy(Delivery))


class ReadOnlyViewSetMixin:
    def get_permissions_to_register(self):
        # The policy ignores Django permissions; offering them on the group form would mislead.
        return Permission.objects.none()


class MessageIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("user")


class DeliveryIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().select_related("message")


class MessageViewSet(ReadOnlyViewSetMixin, ModelViewSet):
    model = Message
    name = "notification_messages"
    url_prefix = "notifications/messages"
    icon = "mail"
    menu_label = _("Messages")
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = []  # never used: the policy allows no add or edit, but Wagtail asks
    list_display = ["subject", "user", "kind", "updated_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "user__email", "kind"]
    inspect_view_fields = [
        "user",
        "kind",
        "subject",
        "body",
        "url",
        "language",
        "about",
        "merged_count",
        "created_at",
        "updated_at",
        "read_at",
    ]

    index_view_class = MessageIndexView


class DeliveryViewSet(ReadOnlyViewSetMixin, ModelViewSet):
    model = Delivery
    name = "notification_deliveries"
    url_prefix = "notifications/deliveries"
    icon = "warning"
    menu_label = _("Deliveries")
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = []  # never used: the policy allows no add or edit, but Wagtail asks
    list_display = [
        "message",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["message__subject", "message__user__email", "last_error"]
    inspect_view_fields = [
        "message",
        "channel",
        "status",
        "attempts",
        "address",
        "created_at",
        "claimed_at",
        "lease_expires_at",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]

    index_view_class = DeliveryIndexView


class NotificationsViewSetGroup(ModelViewSetGroup):
    items = (MessageViewSet, DeliveryViewSet)
    menu_icon = "mail"
    menu_label = _("Notifications")
    menu_name = "notifications"


@hooks.register("register_admin_viewset")
def register_notifications_viewsets():
    return NotificationsViewSetGroup()
