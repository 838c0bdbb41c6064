"""The public site's part of "download all my data" and of closing an account: which
announcements the resident has opened and which urgent ones they were told of."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import AnnouncementRead, UrgentNotice


@register_export_part("cms", _("Announcements you have read"), order=60)
def export_announcements(user, archive):
    archive.write_json(
        "announcements/read.json",
        {
            "read": [
                {"announcement": str(key), "read_at": when.isoformat()}
                for key, when in AnnouncementRead.objects.filter(user=user)
                .order_by("read_at")
                .values_list("translation_key", "read_at")
            ],
            "urgent_notices": [
                {"announcement": str(key), "sent_at": when.isoformat()}
                for key, when in UrgentNotice.objects.filter(user=user)
                .order_by("sent_at")
                .values_list("translation_key", "sent_at")
            ],
        },
    )


@register_closure_rule("cms", order=60)
class AnnouncementsOnClosure:
    def describe(self, user):
        return []  # erased with the account's other preferences

    def apply(self, user, now):
        AnnouncementRead.objects.filter(user=user).delete()
        UrgentNotice.objects.filter(user=user).delete()
