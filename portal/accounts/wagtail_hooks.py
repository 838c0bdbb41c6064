from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.documents import get_permission_policy as document_policy
from wagtail.images import get_permission_policy as image_policy
from wagtail.models import Page
from wagtail.permissions import policy_registry
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from portal.choosers import SnippetChooserViewSet
from portal.mypage.panels import Panel
from portal.wording import address, join_list

from .dashboard import TodayItem, TodayPanel
from .middleware import has_mfa
from .models import Community, Profile, Street


class ProfilePanel(Panel):
    slug = "profile"
    title = _("My profile")
    order = 10
    template_name = "accounts/panels/profile.html"
    # Cached per resident; dropped when their profile, e-mail addresses or second factors
    # are saved or deleted.
    cache_seconds = 300
    invalidated_by = {
        get_user_model(): "pk",
        Profile: "user_id",
        EmailAddress: "user_id",
        Authenticator: "user_id",
    }

    def get_context_data(self, request):
        user = request.user
        profile = _profile_with_street(user)
        email = EmailAddress.objects.filter(user=user, primary=True).first()
        channels = [_("Inbox")]
        if profile.notify_email:
            channels.append(_("e-mail"))
        if profile.notify_sms:
            channels.append(_("SMS"))
        community = profile.street.community if profile.street_id else None
        return {
            "profile": profile,
            "community": community,
            "home_address": address(profile.street, community) if profile.street_id else "",
            "channels": join_list(channels),
            "email": email.email if email else user.email,
            "email_verified": bool(email and email.verified),
            "mfa_enabled": has_mfa(user),
        }


def _profile_with_street(user):
    """The user's profile with its street and community: the profile the user was read with
    (portal/accounts/backends.py), its street read once and kept on it (the announcements
    panel reads it there too), or all three in one query."""
    if not Profile._meta.get_field("user").remote_field.is_cached(user):
        return Profile.objects.select_related("street__community").get(user=user)
    profile = user.profile  # no profile: DoesNotExist, as the query above raises
    if profile.street_id and not Profile._meta.get_field("street").is_cached(profile):
        profile.street = Street.objects.select_related("community").get(pk=profile.street_id)
    return profile


@hooks.register("register_mypage_panel")
def register_profile_panel():
    return ProfilePanel()


class CommunityViewSet(SnippetViewSet):
    model = Community
    chooser_viewset_class = SnippetChooserViewSet  # a tampered community id is a form error
    icon = "site"
    menu_label = _("Communities")
    list_display = ["code", "name_zh_hant", "name_en"]
    search_fields = ["code", "name_zh_hant", "name_zh_hans", "name_en"]


class StreetViewSet(SnippetViewSet):
    model = Street
    chooser_viewset_class = SnippetChooserViewSet
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


# The back office -------------------------------------------------------------------------------


@hooks.register("register_admin_menu_item")
def register_my_page_menu_item():
    """Staff are residents too: the way from the back office to their own My page."""
    return MenuItem(_("My page"), reverse("mypage:index"), icon_name="home", order=100000)


@hooks.register("construct_homepage_panels")
def add_today_panel(request, panels):
    panels.append(TodayPanel(request))


@hooks.register("register_staff_today")
def editor_today(request):
    """What editors (and anyone with page, image, document or directory rights) can do."""
    user = request.user
    items = []
    root = policy_registry.get_by_type(Page).explorable_root_instance(user)
    if root is not None:
        items.append(
            TodayItem(
                _("Write and publish pages"),
                reverse("wagtailadmin_explore", args=[root.pk]),
                _("Announcements, service guides and the site's other pages."),
                order=10,
            )
        )
    libraries = [
        (image_policy(), _("Images"), "wagtailimages:index", _("Upload pictures for pages.")),
        (
            document_policy(),
            _("Documents"),
            "wagtaildocs:index",
            _("Upload forms and leaflets that pages link to."),
        ),
    ]
    for order, (policy, title, url_name, description) in enumerate(libraries, start=20):
        if policy.user_has_any_permission(user, ["add", "change"]):
            items.append(TodayItem(title, reverse(url_name), description, order=order))
    if user.has_perm("accounts.change_street"):
        items.append(
            TodayItem(
                _("District directory"),
                reverse("wagtailsnippets_accounts_street:list"),
                _("The communities and streets residents choose their home from."),
                order=30,
            )
        )
    return items


@hooks.register("register_staff_today")
def account_today(request):
    """For every member of staff: their own account's security, and their My page."""
    return [
        TodayItem(
            _("Your account"),
            reverse("account_settings"),
            _("Two-factor authentication, password and signed-in sessions."),
            general=True,
        ),
    ]
