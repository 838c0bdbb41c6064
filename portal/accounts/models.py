import uuid
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def language_field_suffix(language=None):
    """The suffix of the per-language field for a language code (default: the active one):
    "zh_hant", "zh_hans" or "en". Models keep texts as `<field>_<suffix>`."""
    language = (language or get_language() or settings.LANGUAGE_CODE).lower()
    if language.startswith("zh-hans"):
        return "zh_hans"
    if language.startswith("en"):
        return "en"
    return "zh_hant"


class LocalizedNameMixin(models.Model):
    """A name kept in each interface language; `name` answers in the active one."""

    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=100)
    name_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def name(self):
        return getattr(self, f"name_{language_field_suffix()}")


class Community(LocalizedNameMixin):
    """A community (neighbourhood) of the district, with the point used for distances."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")


class Street(LocalizedNameMixin):
    """A street of the district directory; each belongs to one community."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="streets", verbose_name=_("community")
    )

    class Meta:
        ordering = ["community__code", "name_en"]
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name_en"], name="street_unique_in_community"
            )
        ]


phone_validator = RegexValidator(
    r"^\+?[0-9]{8,15}$",
    _("Enter a phone number of 8 to 15 digits, optionally starting with +."),
)


class Profile(models.Model):
    """What a resident tells the district about themselves."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    phone = models.CharField(
        _("mobile phone"), max_length=16, blank=True, validators=[phone_validator]
    )
    street = models.ForeignKey(
        Street,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("home street"),
    )
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    notify_email = models.BooleanField(_("send me e-mail"), default=True)
    notify_sms = models.BooleanField(_("send me text messages (SMS)"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident profile")
        verbose_name_plural = _("resident profiles")

    def __str__(self):
        return self.display_name or self.user.email

    @property
    def community(self):
        return self.street.community if self.street_id else None

    @property
    def is_complete(self):
        return bool(self.display_name and self.street_id)


def user_display(user):
    """How allauth names a user in messages: their display name, else their e-mail."""
    profile = getattr(user, "profile", None)
    return (profile.display_name if profile else "") or user.email or user.get_username()


class DataExport(models.Model):
    """One "download all my data" archive: built in the background, kept for a while, deleted.

    At most one is being built per user at a time (a partial unique constraint), so asking
    again while one is being built starts no second one. The file lives outside the web root
    (settings.ACCOUNTS_EXPORT_ROOT) and is served only to its owner.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Could not be prepared")
        EXPIRED = "expired", _("Deleted")

    IN_PROGRESS = (Status.PENDING, Status.BUILDING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("asked for"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"), null=True, blank=True)
    parts_done = models.PositiveSmallIntegerField(default=0)
    parts_total = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("data download")
        verbose_name_plural = _("data downloads")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["pending", "building"]),
                name="accounts_one_export_in_progress",
            )
        ]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def in_progress(self):
        return self.status in self.IN_PROGRESS

    @property
    def percent(self):
        if self.status == self.Status.READY:
            return 100
        return int(100 * self.parts_done / self.parts_total) if self.parts_total else 0


class Session(AbstractBaseSession):
    """A browser's session, as Django keeps it, with the signed-in user's id beside the data.

    The id lets each request read the session and its user in one query
    (portal/accounts/session_store.py) and lets a user's sessions be found without decoding
    every row. It is written from the session data each time the session is saved: the data
    stays what Django reads and checks (the user id, the backend, the password hash).
    """

    # No database constraint: a session saved at the end of a request whose user was deleted
    # meanwhile must not fail the request; such a session finds no user and is signed out.
    # Deleting a user through the ORM still deletes their sessions.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        # The configured store (portal/accounts/session_store.py, which reads this model).
        return import_module(settings.SESSION_ENGINE).SessionStore
