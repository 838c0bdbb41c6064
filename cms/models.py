"""The public site's page types and snippets.

Every page is translatable (Wagtail localisation, one tree per language under a translated home
page). Addresses are language-neutral: `/announcements/x/` serves the page in the reader's
language when it has a translation, and the original, marked with its own `lang`, when it has
none (`HomePage.route`). Rules about which announcements are shown where live in
`cms/py`.
"""

from django import forms
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    PublishingPanel,
)
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Locale, Orderable, Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from modelcluster.fields import ParentalKey, ParentalManyToManyField

from portal.accounts.models import Community, LocalizedNameMixin, Street, language_field_suffix
from portal.mypage.panels import changed as mypage_changed
from portal.wording import join_list

from .blocks import body_blocks

INTRO_FEATURES = ["bold", "italic", "link"]


def time_zone_note():
    """What editors read next to dates: the zone every date and time is in."""
    return _("Dates and times are in %(zone)s time.") % {"zone": settings.TIME_ZONE}


TIME_ZONE_NOTE = lazy(time_zone_note, str)()


class ZonedPublishingPanel(PublishingPanel):
    """Wagtail's "Set publishing schedule" with the time zone under each date."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for child in self.children:
            child.help_text = TIME_ZONE_NOTE


# Snippets -----------------------------------------------------------------------------------


@register_snippet
class AnnouncementCategory(LocalizedNameMixin):
    """A category of announcements (road works, health, events, …), named in each language."""

    slug = models.SlugField(_("code"), max_length=40, unique=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    panels = [
        FieldRowPanel([FieldPanel("slug"), FieldPanel("sort_order")]),
        FieldRowPanel(
            [FieldPanel("name_zh_hant"), FieldPanel("name_zh_hans"), FieldPanel("name_en")]
        ),
    ]

    class Meta:
        ordering = ["sort_order", "slug"]
        verbose_name = _("announcement category")
        verbose_name_plural = _("announcement categories")


class AlertBannerQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(
            models.Q(starts_at__isnull=True) | models.Q(starts_at__lte=now),
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now),
            is_active=True,
        )


@register_snippet
class AlertBanner(models.Model):
    """A short site-wide alert shown above the home page's content while it is active."""

    message_zh_hant = models.CharField(_("message (Traditional Chinese)"), max_length=300)
    message_zh_hans = models.CharField(_("message (Simplified Chinese)"), max_length=300)
    message_en = models.CharField(_("message (English)"), max_length=300)
    link = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("more information"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    starts_at = models.DateTimeField(_("shown from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AlertBannerQuerySet.as_manager()

    panels = [
        FieldPanel("message_zh_hant"),
        FieldPanel("message_zh_hans"),
        FieldPanel("message_en"),
        FieldPanel("link"),
        HelpPanel(content=TIME_ZONE_NOTE),
        FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at"), FieldPanel("is_active")]),
    ]

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("alert banner")
        verbose_name_plural = _("alert banners")

    def __str__(self):
        return self.message

    @property
    def message(self):
        return getattr(self, f"message_{language_field_suffix()}") or self.message_zh_hant

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})


# Pages --------------------------------------------------------------------------------------


class BasePage(Page):
    """What every public page shares: the reader's language or a marked fallback, hreflang
    alternates, and the fields used in listings and link previews."""

    settings_panels = [ZonedPublishingPanel(), *Page.settings_panels[1:]]

    class Meta:
        abstract = True

    def translations_by_language(self):
        """{language code: live page} for this page and its live translations (one query)."""
        if not getattr(self, "_translations_cache", None):
            pages = self.get_translations(inclusive=True).live().select_related("locale")
            self._translations_cache = {p.locale.language_code: p for p in pages}
        return self._translations_cache

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        alternates = []
        for code, page in sorted(self.translations_by_language().items()):
            url = page.get_full_url(request)
            if url:
                alternates.append({"lang_code": code, "location": f"{url}?lang={code}"})
        for entry in urls:
            entry["alternates"] = alternates
        return urls

    def meta_description(self):
        """For search engines and link previews: the promote tab's text, else the summary,
        else the introduction's text."""
        text = self.search_description or getattr(self, "summary", "")
        if not text and getattr(self, "intro", ""):
            text = strip_tags(str(self.intro))
        return " ".join(text.split())[:200]

    def serve(self, request, *args, **kwargs):
        # Found in another language's tree although the reader's language has a translation
        # at another address (its slug was translated): go there.
        reader = translation.get_language()
        if self.locale.language_code != reader:
            translated = self.translations_by_language().get(reader)
            if translated is not None and translated.pk != self.pk:
                url = translated.get_url(request)
                if url and url != request.path:
                    return redirect(url)
        request.served_page = self  # the page cache keeps it if it has no view restriction
        return super().serve(request, *args, **kwargs)

    def page_context(self, request):
        """What this page type adds to its template's context."""
        return {}

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(self.page_context(request))
        reader = translation.get_language()
        content_language = self.locale.language_code
        alternates = []
        for code, page in self.translations_by_language().items():
            url = page.get_url(request)
            if url:
                alternates.append({"language": code, "url": f"{url}?lang={code}"})
        context.update(
            meta_description=self.meta_description(),
            content_language=content_language,
            is_fallback=content_language != reader,
            alternates=sorted(alternates, key=lambda a: a["language"]),
            # The header's language switcher returns here without ?lang=, so the choice holds.
            switcher_next=request.path,
        )
        return context


class HomePage(BasePage):
    """The site root: urgent alerts first, the latest announcements, the most used services
    and the ways in to clinics, transit and My page."""

    intro = RichTextField(_("introduction"), blank=True, features=INTRO_FEATURES)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "cms.AnnouncementIndexPage",
        "cms.ServiceGuidePage",
        "cms.ClinicPage",
        "cms.StandardPage",
    ]

    class Meta:
        verbose_name = _("home page")

    def route(self, request, path_components):
        """Find the page in the reader's language tree; a page that has no translation yet is
        found in another language's tree and shown from there (the designed fallback)."""
        try:
            return super().route(request, path_components)
        except Http404:
            if not path_components:
                raise
        for home in fallback_homes(self):
            try:
                result = Page.route(home, request, path_components)
            except Http404:
                continue
            return result
        raise Http404

    def page_context(self, request):
        return home_page_context(request, self)


def fallback_homes(home):
    """The other languages' home pages, the default language first."""
    others = HomePage.objects.live().filter(translation_key=home.translation_key)
    others = others.exclude(pk=home.pk).select_related("locale")
    order = [code for code, _name in settings.LANGUAGES]
    return sorted(
        others,
        key=lambda h: (
            order.index(h.locale.language_code) if h.locale.language_code in order else len(order)
        ),
    )


class AnnouncementIndexPage(BasePage):
    """The list of announcements, newest first, filterable by category and community."""

    intro = RichTextField(_("introduction"), blank=True, features=INTRO_FEATURES)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.AnnouncementPage"]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("announcement list")

    def page_context(self, request):
        return index_page_context(request, self)


class AnnouncementPageForm(WagtailAdminPageForm):
    def clean(self):
        cleaned = super().clean()
        target = cleaned.get("target")
        if target == AnnouncementPage.Target.COMMUNITIES and not cleaned.get("communities"):
            self.add_error("communities", _("Choose at least one community."))
        if target == AnnouncementPage.Target.STREETS and not cleaned.get("streets"):
            self.add_error("streets", _("Choose at least one street."))
        return cleaned


class AnnouncementPage(BasePage):
    """One announcement: a category, an urgent flag, who it is for, a body and attachments.

    It is published at its go-live time and leaves listings and feeds at its expiry time
    (Wagtail's own schedule, run every minute by the `cms.tasks.publish_scheduled` beat task;
    listings also hide it the moment it expires)."""

    class Target(models.TextChoices):
        DISTRICT = "district", _("The whole district")
        COMMUNITIES = "communities", _("One or more communities")
        STREETS = "streets", _("One or more streets")

    category = models.ForeignKey(
        AnnouncementCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    summary = models.TextField(
        _("summary"),
        max_length=400,
        help_text=_("One or two sentences shown in lists, feeds and notifications."),
    )
    urgent = models.BooleanField(
        _("urgent"),
        default=False,
        help_text=_(
            "Shown first, on the home page and My page; residents of the area are notified."
        ),
    )
    target = models.CharField(
        _("for whom"), max_length=20, choices=Target.choices, default=Target.DISTRICT
    )
    communities = ParentalManyToManyField(
        Community, blank=True, related_name="+", verbose_name=_("communities")
    )
    streets = ParentalManyToManyField(
        Street, blank=True, related_name="+", verbose_name=_("streets")
    )
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    base_form_class = AnnouncementPageForm

    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        FieldRowPanel([FieldPanel("category"), FieldPanel("urgent")]),
        MultiFieldPanel(
            [
                FieldPanel("target", widget=forms.RadioSelect),
                FieldPanel("communities", widget=forms.CheckboxSelectMultiple),
                FieldPanel("streets", widget=forms.CheckboxSelectMultiple),
            ],
            heading=_("Who it is for"),
        ),
        FieldPanel("body"),
        InlinePanel("attachments", heading=_("Attachments"), label=_("Attachment")),
        HelpPanel(
            content=_(
                "Set the publish date and the expiry date with “Set schedule” in the status "
                "side panel."
            ),
        ),
        HelpPanel(content=TIME_ZONE_NOTE),
    ]

    search_fields = Page.search_fields + [index.SearchField("summary")]

    parent_page_types = ["cms.AnnouncementIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    @property
    def date(self):
        """The publish date readers see."""
        return self.go_live_at or self.first_published_at or self.latest_revision_created_at

    def is_expired(self, now=None):
        return bool(self.expire_at and self.expire_at <= (now or timezone.now()))

    def serve(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            _read, created = AnnouncementRead.objects.get_or_create(
                user=request.user, translation_key=self.translation_key
            )
            if created:
                mypage_changed(request.user.pk)  # My page stops marking it new
        return super().serve(request, *args, **kwargs)

    def target_label(self):
        """The communities or streets it is for, as the reader's language lists them."""
        if self.target == self.Target.COMMUNITIES:
            return join_list(c.name for c in self.communities.all())
        if self.target == self.Target.STREETS:
            return join_list(s.name for s in self.streets.all())
        return ""


class AnnouncementRead(models.Model):
    """A resident has opened an announcement (in any language): My page stops marking it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    translation_key = models.UUIDField()
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "translation_key"], name="cms_announcement_read_once"
            )
        ]

    def __str__(self):
        return f"{self.user_id} read {self.translation_key}"


class UrgentBroadcast(models.Model):
    """An urgent announcement whose residents are to be notified. Written when it is published
    (in that transaction); the task sends it, and the minute task sends what was not queued."""

    translation_key = models.UUIDField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"urgent {self.translation_key}"


class UrgentNotice(models.Model):
    """One resident was notified of one urgent announcement: never twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    translation_key = models.UUIDField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "translation_key"], name="cms_urgent_notice_once"
            )
        ]

    def __str__(self):
        return f"{self.user_id} told of {self.translation_key}"


class SearchEntry(models.Model):
    """A live page's search text, built by cms.search when it is published and removed when
    it is unpublished: the terms as text (searched on SQLite) and as a tsvector with a GIN
    index (searched on PostgreSQL; the index is made by migration there only)."""

    page = models.OneToOneField(
        "wagtailcore.Page", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    text = models.TextField()
    title_text = models.TextField()
    vector = SearchVectorField(null=True)
    # Copied from the page when it is published, so a search reads this table alone.
    language = models.CharField(max_length=20, default="")
    translation_key = models.UUIDField(null=True)
    published_at = models.DateTimeField(null=True)
    expire_at = models.DateTimeField(null=True)

    class Meta:
        # A word found on most pages is answered by reading the newest entries in order.
        indexes = [models.Index(fields=["-published_at"], name="cms_search_newest")]

    def __str__(self):
        return f"search text of page {self.page_id}"


class AnnouncementAttachment(Orderable):
    page = ParentalKey(AnnouncementPage, on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey(
        "wagtaildocs.Document",
        verbose_name=_("document"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    title = models.CharField(
        _("link text"), max_length=200, blank=True, help_text=_("Empty: the document's title.")
    )

    panels = [FieldPanel("document"), FieldPanel("title")]

    class Meta(Orderable.Meta):
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    @property
    def link_text(self):
        return self.title or self.document.title


class ServiceGuidePage(BasePage):
    """A guide to one service of the catalogue: who may apply, what to bring, how long it
    takes and what it costs, and "Apply online" while online applications are open."""

    service = models.ForeignKey(
        "cases.Service",
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    intro = RichTextField(_("introduction"), blank=True, features=INTRO_FEATURES)
    conditions = RichTextField(
        _("conditions"),
        blank=True,
        features=["bold", "italic", "ul", "ol", "link"],
        help_text=_("Empty: the catalogue's “who may apply” text."),
    )
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [
        FieldPanel("service"),
        FieldPanel("intro"),
        FieldPanel("conditions"),
        FieldPanel("body"),
    ]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("service guide")

    def page_context(self, request):
        return service_guide_context(self)


class ClinicPage(BasePage):
    """A clinic's page: address, hours, services, and "Book" for each bookable service."""

    clinic = models.ForeignKey(
        "booking.Clinic",
        verbose_name=_("clinic"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    intro = RichTextField(_("introduction"), blank=True, features=INTRO_FEATURES)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [
        FieldPanel("clinic"),
        FieldPanel("intro"),
        FieldPanel("body"),
    ]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("clinic page")

    def page_context(self, request):
        return clinic_context(self)


class StandardPage(BasePage):
    """Any other page: contact, privacy notice, accessibility statement, cookies, …"""

    intro = RichTextField(_("introduction"), blank=True, features=INTRO_FEATURES)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))
    show_in_footer = models.BooleanField(
        _("link in the footer"),
        default=False,
        help_text=_("For the contact page and the notices every page links to."),
    )
    footer_order = models.PositiveSmallIntegerField(_("order in the footer"), default=0)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    promote_panels = Page.promote_panels + [
        FieldRowPanel([FieldPanel("show_in_footer"), FieldPanel("footer_order")])
    ]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = ["cms.StandardPage", "cms.ServiceGuidePage", "cms.ClinicPage"]

    class Meta:
        verbose_name = _("standard page")


# Which announcements and pages are shown where: the one place for these rules -------------
#
# Which announcements and pages are shown where: the one place for these rules.
#
# - An announcement is listed while it is live and not past its expiry time (listings don't wait
#   for the minute task that unpublishes it).
# - A reader sees each announcement once, in their language when it is translated, otherwise in
#   the first language it exists in (zh-Hant, zh-Hans, en): `one_per_translation`.
# - A resident's area is their street and its community; district-wide announcements are for
#   everyone (`for_street`).

INDEX_PAGE_SIZE = 20
HOME_LATEST = 5
HOME_SERVICES = 6


def language_order(first=None):
    first = first or translation.get_language()
    codes = [code for code, _name in settings.LANGUAGES]
    return [first, *[c for c in codes if c != first]] if first in codes else codes


def live_announcements(now=None):
    now = now or timezone.now()
    return AnnouncementPage.objects.live().filter(Q(expire_at__isnull=True) | Q(expire_at__gt=now))


def one_per_translation(queryset, language=None):
    """Keep, for each translation key, the page in the first language of the reader's order."""
    locales = {loc.language_code: loc.pk for loc in Locale.objects.all()}
    order = [locales[c] for c in language_order(language) if c in locales]
    condition = Q()
    earlier = []
    for locale_id in order:
        clause = Q(locale_id=locale_id)
        if earlier:
            clause &= ~Q(
                translation_key__in=queryset.filter(locale_id__in=list(earlier)).values(
                    "translation_key"
                )
            )
        condition |= clause
        earlier.append(locale_id)
    return queryset.filter(condition)


def for_street(queryset, street):
    """Announcements for the whole district, the street's community or the street itself."""
    through_c = AnnouncementPage.communities.through
    through_s = AnnouncementPage.streets.through
    condition = Q(target=AnnouncementPage.Target.DISTRICT)
    if street is not None:
        condition |= Q(target=AnnouncementPage.Target.COMMUNITIES) & Exists(
            through_c.objects.filter(
                announcementpage_id=OuterRef("pk"), community_id=street.community_id
            )
        )
        condition |= Q(target=AnnouncementPage.Target.STREETS) & Exists(
            through_s.objects.filter(announcementpage_id=OuterRef("pk"), street_id=street.pk)
        )
    return queryset.filter(condition)


def for_community(queryset, community):
    """Announcements listed for a community: for it, or for one of its streets, or for all."""
    through_c = AnnouncementPage.communities.through
    through_s = AnnouncementPage.streets.through
    return queryset.filter(
        Q(target=AnnouncementPage.Target.DISTRICT)
        | Q(target=AnnouncementPage.Target.COMMUNITIES)
        & Exists(
            through_c.objects.filter(announcementpage_id=OuterRef("pk"), community_id=community.pk)
        )
        | Q(target=AnnouncementPage.Target.STREETS)
        & Exists(
            through_s.objects.filter(
                announcementpage_id=OuterRef("pk"), street__community_id=community.pk
            )
        )
    )


def newest_first(queryset):
    return queryset.order_by("-first_published_at", "-pk")


def listed(queryset):
    return queryset.select_related("category", "locale")


def home_page_context(request, home):
    announcements = one_per_translation(live_announcements())
    urgent = listed(
        newest_first(announcements.filter(urgent=True, target=AnnouncementPage.Target.DISTRICT))
    )[:3]
    latest = listed(newest_first(announcements))[:HOME_LATEST]
    return {
        "alerts": list(AlertBanner.objects.active().select_related("link")),
        "urgent_announcements": list(urgent),
        "latest_announcements": list(latest),
        "announcement_index": announcement_index(),
        "popular_services": popular_services(),
    }


def announcement_index():
    index = AnnouncementIndexPage.objects.live().filter(locale__language_code__in=language_order())
    pages = {p.locale.language_code: p for p in index.select_related("locale")}
    for code in language_order():
        if code in pages:
            return pages[code]
    return None


def popular_services():
    """The catalogue's most applied-for services, each with its guide page when one exists."""
    from portal.cases.models import Service

    services = list(
        Service.objects.filter(is_active=True, kind=Service.Kind.APPLICATION)
        .annotate(uses=Count("cases"))
        .order_by("-uses", "sort_order", "code")[:HOME_SERVICES]
    )
    guides = {}
    for guide in (
        ServiceGuidePage.objects.live().filter(service__in=services).select_related("locale")
    ):
        guides.setdefault(guide.service_id, []).append(guide)
    entries = []
    for service in services:
        url = service.get_absolute_url()
        pages = guides.get(service.pk, [])
        for code in language_order():
            match = [p for p in pages if p.locale_id and p.locale.language_code == code]
            if match:
                url = match[0].url
                break
        entries.append({"service": service, "url": url})
    return entries


def index_page_context(request, index):
    announcements = one_per_translation(live_announcements())
    category = community = None
    if slug := request.GET.get("category"):
        category = AnnouncementCategory.objects.filter(slug=slug[:40]).first()
        if category is not None:
            announcements = announcements.filter(category=category)
    if code := request.GET.get("community"):
        community = Community.objects.filter(code=code[:40]).first()
        if community is not None:
            announcements = for_community(announcements, community)
    paginator = Paginator(listed(newest_first(announcements)), INDEX_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        page = paginator.page(1)
    return {
        "announcements": page,
        "categories": AnnouncementCategory.objects.all(),
        "communities": Community.objects.all(),
        "category": category,
        "community": community,
    }


def service_guide_context(guide):
    from portal.cases.models import FormField

    service = guide.service
    if service is None:
        return {"service": None}
    documents = [f for f in service.form_fields.all() if f.field_type == FormField.Type.DOCUMENT]
    can_apply = bool(
        service.is_active and service.online and service.kind == service.Kind.APPLICATION
    )
    apply_url = ""
    if can_apply:
        try:
            apply_url = reverse("cases:apply", args=[service.code])
        except NoReverseMatch:
            can_apply = False
    return {
        "service": service,
        "documents": documents,
        "can_apply": can_apply,
        "apply_url": apply_url,
        "catalogue_url": service.get_absolute_url(),
    }


def clinic_context(page):
    clinic = page.clinic
    if clinic is None:
        return {"clinic": None}
    services = []
    for service in clinic.services.filter(is_active=True).order_by("sort_order", "code"):
        book_url = ""
        if clinic.is_active:
            book_url = reverse("booking:clinic_days", args=[clinic.pk, service.code])
        services.append({"service": service, "book_url": book_url})
    return {"clinic": clinic, "clinic_services": services}
