"""The inbox's part of "download all my data": every message, with how it was delivered."""

from django.utils.translation import gettext_lazy as _

from portal.accounts.closure import register_closure_rule
from portal.accounts.exports import register_export_part

from .models import KindPreference, Message


@register_export_part("inbox", _("Inbox messages"), order=30)
def export_inbox(user, archive):
    archive.write_json(
        "inbox/notification-choices.json",
        [
            {"kind": p.kind, "inbox": p.inbox, "email": p.email, "sms": p.sms}
            for p in KindPreference.objects.filter(user=user).order_by("kind")
        ],
    )
    messages = Message.objects.filter(user=user).prefetch_related("deliveries").order_by("pk")
    archive.write_json(
        "inbox/messages.json",
        [
            {
                "sent": message.created_at,
                "read": message.read_at,
                "kind": message.kind,
                "subject": message.subject,
                "body": message.body,
                "link": message.url,
                "language": message.language,
                "delivered_by": [
                    {"channel": d.channel, "status": d.status, "to": d.address}
                    for d in message.deliveries.all()
                ],
            }
            for message in messages.iterator(chunk_size=500)
        ],
    )


@register_closure_rule("inbox", order=30)
class InboxOnClosure:
    def describe(self, user):
        return [_("Your inbox and your notification preferences are erased.")]

    def apply(self, user, now):
        Message.objects.filter(user=user).delete()  # with their deliveries and attachments
        KindPreference.objects.filter(user=user).delete()
