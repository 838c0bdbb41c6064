"""Load a demo district: communities, streets, residents and staff with known demo passwords.

Idempotent: running it again updates the same rows. Every app adds its own demo data through
the Wagtail hook "load_demo_data" (a function taking the command's stdout), called in order
after the directory and the users exist.
"""

import base64

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from wagtail import hooks

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP

from portal.accounts import roles
from portal.accounts.models import Community, Street

DEMO_PASSWORD = "demo-district-2026"

COMMUNITIES = [
    # code, zh-hant, zh-hans, en, latitude, longitude
    ("harbour", "海濱社區", "海滨社区", "Harbour", "22.281900", "114.158200"),
    ("hillside", "山景社區", "山景社区", "Hillside", "22.287600", "114.141100"),
    ("market", "街市社區", "街市社区", "Market", "22.283300", "114.150900"),
    ("riverside", "河畔社區", "河畔社区", "Riverside", "22.276500", "114.172800"),
]

STREETS = {
    "harbour": [("海旁道", "海旁道", "Praya Road"), ("碼頭街", "码头街", "Pier Street")],
    "hillside": [("松柏路", "松柏路", "Pine Road"), ("半山里", "半山里", "Midlevel Lane")],
    "market": [("街市街", "街市街", "Market Street"), ("利民道", "利民道", "Limin Road")],
    "riverside": [("河堤路", "河堤路", "Embankment Road"), ("柳樹街", "柳树街", "Willow Street")],
}

RESIDENTS = [
    # e-mail, display name, street (English name), language
    ("chan.taiman@demo.district.example", "陳大文", "Praya Road", "zh-hant"),
    ("li.xiaomei@demo.district.example", "李小美", "Market Street", "zh-hans"),
    ("alex.wong@demo.district.example", "Alex Wong", "Pine Road", "en"),
]

STAFF = [
    # e-mail, display name, group or None for the superuser
    ("admin@demo.district.example", "Portal administrator", None),
    ("editor@demo.district.example", "News editor", roles.EDITORS),
    ("reviewer@demo.district.example", "News reviewer", roles.REVIEWERS),
    ("nurse@demo.district.example", "Clinic nurse", roles.CLINIC_STAFF),
    ("officer@demo.district.example", "Case officer", roles.CASE_OFFICERS),
]

# A fixed TOTP secret for the demo staff, so a demo can add it to an authenticator app.
DEMO_TOTP_SECRET = base64.b32encode(b"district-demo-mfa!!!").decode()


class Command(BaseCommand):
    help = "Load (or refresh) the demo district with residents and staff users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo users even though DEBUG is off (they have well-known passwords).",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Demo users have well-known passwords; refusing with DEBUG off. "
                "Pass --allow-production if you really mean it."
            )
        with transaction.atomic():
            streets = self.load_directory()
            residents = [
                self.load_user(email, name, streets[street], language)
                for email, name, street, language in RESIDENTS
            ]
            staff = [self.load_staff(email, name, group) for email, name, group in STAFF]
            for fn in hooks.get_hooks("load_demo_data"):
                fn(self.stdout)
        self.report(residents, staff)

    def load_directory(self):
        streets = {}
        for code, zh_hant, zh_hans, en, lat, lon in COMMUNITIES:
            community, _ = Community.objects.update_or_create(
                code=code,
                defaults={
                    "name_zh_hant": zh_hant,
                    "name_zh_hans": zh_hans,
                    "name_en": en,
                    "latitude": lat,
                    "longitude": lon,
                },
            )
            for s_hant, s_hans, s_en in STREETS[code]:
                street, _ = Street.objects.update_or_create(
                    community=community,
                    name_en=s_en,
                    defaults={"name_zh_hant": s_hant, "name_zh_hans": s_hans},
                )
                streets[s_en] = street
        return streets

    def load_user(self, email, display_name, street=None, language=None, **flags):
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username=email.split("@")[0], defaults={"email": email}
        )
        user.email = email
        for name, value in flags.items():
            setattr(user, name, value)
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        profile = user.profile
        profile.display_name = display_name
        if street is not None:
            profile.street = street
        if language:
            profile.preferred_language = language
        profile.save()
        return user

    def load_staff(self, email, display_name, group_name):
        is_admin = group_name is None
        user = self.load_user(email, display_name, is_staff=is_admin, is_superuser=is_admin)
        if group_name:
            user.groups.add(Group.objects.get(name=group_name))
        # Staff must use MFA: give each a TOTP device with the shared demo secret and codes.
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
        if not Authenticator.objects.filter(
            user=user, type=Authenticator.Type.RECOVERY_CODES
        ).exists():
            RecoveryCodes.activate(user)
        return user

    def report(self, residents, staff):
        out = self.stdout
        base = settings.PORTAL_BASE_URL
        out.write(self.style.SUCCESS("Demo district loaded."))
        out.write(f"  Portal:       {base}/")
        out.write(f"  Sign in:      {base}/accounts/login/  (residents land on My page,")
        out.write(f"                staff in the back office at {base}/admin/)")
        out.write(f"Password for every demo user: {DEMO_PASSWORD}")
        out.write("Residents:")
        for user in residents:
            out.write(f"  {user.email}")
        out.write(f"Staff (TOTP secret {DEMO_TOTP_SECRET}, or one of the recovery codes):")
        for user in staff:
            codes = RecoveryCodes(
                Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
            )
            unused = codes.get_unused_codes()[:2]
            out.write(f"  {user.email}  recovery codes: {', '.join(unused)}")
