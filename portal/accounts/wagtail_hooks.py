from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from allauth.account.models import EmailAddress

from portal.mypage.panels import Panel

from .middleware import has_mfa
from .models import Community, Profile, Street


class ProfilePanel(Panel):
    slug = "profile"
    title = _("My profile")
    order = 10
    template_name = "accounts/panels/profile.html"

    def get_context_data(self, request):
        user = request.user
        profile = Profile.objects.select_related("street__community").get(user=user)
        email = EmailAddress.objects.filter(user=user, primary=True).first()
        return {
            "profile": profile,
            "community": profile.street.community if profile.street_id else None,
            "email": email.email if email else user.email,
            "email_verified": bool(email and email.verified),
            "mfa_enabled": has_mfa(user),
        }


@hooks.register("register_mypage_panel")
def register_profile_panel():
    return ProfilePanel()


class CommunityViewSet(SnippetViewSet):
    model = Community
    icon = "site"
    menu_label = _("Communities")
    list_display = ["code", "name_zh_hant", "name_en"]
    search_fields = ["code", "name_zh_hant", "name_zh_hans", "name_en"]


class StreetViewSet(SnippetViewSet):
    model = Street
    icon = "pick"
    menu_label = _("Streets")
    list_display = ["name_zh_hant", "name_en", "community"]
    list_filter = ["community"]
    search_fields = ["name_zh_hant", "name_zh_hans", "name_en"]


class DirectoryViewSetGroup(SnippetViewSetGroup):
    items = (CommunityViewSet, StreetViewSet)
    menu_icon = "site"
    menu_label = _("District directory")
    menu_name = "district-directory"


register_snippet(DirectoryViewSetGroup)
