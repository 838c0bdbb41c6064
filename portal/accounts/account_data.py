"""The accounts app's part of "download all my data": the profile and sign-in details."""

import uuid

from django.utils.translation import gettext_lazy as _

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from .closure import register_closure_rule
from .exports import register_export_part
from .models import Profile


@register_export_part("profile", _("Profile, e-mail addresses and notification choices"), order=10)
def export_profile(user, archive):
    profile = Profile.objects.select_related("street__community").get(user=user)
    street = profile.street
    archive.write_json(
        "profile/profile.json",
        {
            "account": {"email": user.email, "joined": user.date_joined},
            "display_name": profile.display_name,
            "mobile_phone": profile.phone,
            "home_street": street.name_en if street else None,
            "home_street_names": (
                {
                    "zh-hant": street.name_zh_hant,
                    "zh-hans": street.name_zh_hans,
                    "en": street.name_en,
                }
                if street
                else None
            ),
            "community": street.community.name_en if street else None,
            "preferred_language": profile.preferred_language,
            "notification_choices": {
                "inbox": True,
                "email": profile.notify_email,
                "sms": profile.notify_sms,
            },
            "email_addresses": [
                {"email": e.email, "primary": e.primary, "verified": e.verified}
                for e in EmailAddress.objects.filter(user=user).order_by("-primary", "email")
            ],
            # Which second factors are set up, never their secrets.
            "two_factor": sorted(
                Authenticator.objects.filter(user=user).values_list("type", flat=True)
            ),
        },
    )


@register_closure_rule("account", order=1000)
class AccountOnClosure:
    """Runs last: erase the sign-in and the profile, end every session, keep an anonymous
    placeholder row so the audit trail and the clinic's records still point at something."""

    def describe(self, user):
        return [
            _(
                "Your sign-in details (e-mail address, password, two-factor authentication) and "
                "your profile are erased, and you are signed out everywhere."
            ),
        ]

    def apply(self, user, now):
        from allauth.usersessions.models import UserSession

        from . import services
        from .models import DataExport

        for export in DataExport.objects.filter(user=user):
            path = services.export_file(export)
            if path is not None:
                path.unlink(missing_ok=True)
        DataExport.objects.filter(user=user).delete()
        for session in UserSession.objects.filter(user=user):
            session.end()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        Profile.objects.filter(user=user).delete()
        user.username = f"closed-{uuid.uuid4().hex}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()  # also ends sessions the session list did not know
        user.save()
