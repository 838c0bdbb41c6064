"""Service cases: the catalogue (offices, services, their application forms and status wording)
and, below it, the cases themselves.

Texts residents read are kept per language as `<field>_zh_hant`, `<field>_zh_hans`,
`<field>_en`; `localized(obj, "field")` answers in the active language.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable

from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

from portal.accounts.models import Community, LocalizedNameMixin, language_field_suffix
from portal.private_files import PrivateFileStorage

from .statuses import PublicStatus

LANGUAGE_SUFFIXES = ("zh_hant", "zh_hans", "en")


def localized(obj, field, language=None):
    """`obj.<field>_<suffix>` for the active (or given) language, falling back to the other
    languages when that one is empty."""
    first = language_field_suffix(language)
    for suffix in (first, *[s for s in LANGUAGE_SUFFIXES if s != first]):
        value = getattr(obj, f"{field}_{suffix}", "")
        if value:
            return value
    return ""


def text_fields(name, verbose, *, blank=True, max_length=None, help_text=""):
    """Three fields for one text: (zh_hant, zh_hans, en)."""
    labels = {
        "zh_hant": _("Traditional Chinese"),
        "zh_hans": _("Simplified Chinese"),
        "en": _("English"),
    }
    fields = {}
    for suffix in LANGUAGE_SUFFIXES:
        # Lazy, so the label is rendered in the reader's language, never the one active at import.
        label = format_lazy("{} ({})", verbose, labels[suffix])
        if max_length:
            field = models.CharField(label, max_length=max_length, blank=blank, help_text=help_text)
        else:
            field = models.TextField(label, blank=blank, help_text=help_text)
        fields[f"{name}_{suffix}"] = field
    return fields


def language_row(name):
    return FieldRowPanel([FieldPanel(f"{name}_{suffix}") for suffix in LANGUAGE_SUFFIXES])


office_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]{1,7}$",
    _("2 to 8 capital letters or digits, starting with a letter (it begins every reference)."),
)


RESERVED_SERVICE_CODES = {"cases", "on-time", "hotline"}  # paths under /services/


def not_reserved_code(value):
    if value in RESERVED_SERVICE_CODES:
        raise ValidationError(_("This code is used by the portal itself; choose another."))


class Office(LocalizedNameMixin):
    """A district department or a street office: it owns services and works their cases."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("District department")
        STREET_OFFICE = "street_office", _("Street office")

    code = models.CharField(
        _("code"), max_length=8, unique=True, validators=[office_code_validator]
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    community = models.ForeignKey(
        Community,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offices",
        verbose_name=_("community served"),
        help_text=_("For a street office: the community it serves."),
    )
    locals().update(text_fields("address", _("address"), max_length=200))
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="case_offices",
        verbose_name=_("case officers"),
        help_text=_("Officers who work this office's cases (they see no other office's)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    panels = [
        FieldRowPanel([FieldPanel("code"), FieldPanel("kind")]),
        FieldRowPanel(
            [FieldPanel("name_zh_hant"), FieldPanel("name_zh_hans"), FieldPanel("name_en")]
        ),
        FieldPanel("community"),
        language_row("address"),
        FieldPanel("phone"),
        FieldPanel("officers"),
        FieldPanel("is_active"),
    ]

    class Meta:
        ordering = ["code"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    @property
    def address(self):
        return localized(self, "address")


class Service(LocalizedNameMixin, ClusterableModel):
    """One service of the catalogue: what a resident can apply for, and the district's promise."""

    class Kind(models.TextChoices):
        APPLICATION = "application", _("Application")
        ENQUIRY = "enquiry", _("Enquiry (hotline)")
        COMPLAINT = "complaint", _("Complaint (hotline)")

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="services", verbose_name=_("owning office")
    )
    code = models.SlugField(_("code"), max_length=40, unique=True, validators=[not_reserved_code])
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.APPLICATION
    )
    locals().update(text_fields("description", _("description")))
    locals().update(text_fields("eligibility", _("who may apply")))
    promised_days = models.PositiveSmallIntegerField(
        _("promised working days"),
        validators=[MinValueValidator(1), MaxValueValidator(250)],
        help_text=_(
            "Working days from acceptance to decision (for enquiries and complaints: to the "
            "reply). Residents see the due date computed from this."
        ),
    )
    fee = models.DecimalField(
        _("fee (HK$)"),
        max_digits=8,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    online = models.BooleanField(
        _("can be applied for online"),
        default=True,
        help_text=_("If not, residents apply at the office's window and officers file the case."),
    )
    extension_max_days = models.PositiveSmallIntegerField(
        _("extension of at most (working days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(250)],
        help_text=_(
            "Leave empty when this service allows no extension. Officers who extend a case "
            "give a reason, which the resident sees."
        ),
    )
    is_active = models.BooleanField(_("offered"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    panels = [
        FieldRowPanel([FieldPanel("code"), FieldPanel("kind"), FieldPanel("office")]),
        FieldRowPanel(
            [FieldPanel("name_zh_hant"), FieldPanel("name_zh_hans"), FieldPanel("name_en")]
        ),
        MultiFieldPanel([language_row("description")], heading=_("Description")),
        MultiFieldPanel([language_row("eligibility")], heading=_("Who may apply")),
        FieldRowPanel(
            [FieldPanel("promised_days"), FieldPanel("extension_max_days"), FieldPanel("fee")]
        ),
        FieldRowPanel([FieldPanel("online"), FieldPanel("is_active"), FieldPanel("sort_order")]),
        InlinePanel(
            "form_fields",
            heading=_("Application form"),
            label=_("Question or document"),
            help_text=_(
                "The questions residents answer and the documents they upload, in this order."
            ),
        ),
        InlinePanel(
            "status_texts",
            heading=_("Status wording"),
            label=_("Wording of a status"),
            help_text=_("Optional: how this service words a status and what happens next."),
        ),
    ]

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    @property
    def description(self):
        return localized(self, "description")

    @property
    def eligibility(self):
        return localized(self, "eligibility")

    @property
    def allows_extension(self):
        return bool(self.extension_max_days)

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("cases:service", args=[self.code])


class FormField(Orderable):
    """One question (or document upload) of a service's application form."""

    class Type(models.TextChoices):
        TEXT = "text", _("Short text")
        TEXTAREA = "textarea", _("Long text")
        NUMBER = "number", _("Whole number")
        DATE = "date", _("Date")
        EMAIL = "email", _("E-mail address")
        PHONE = "phone", _("Phone number")
        CHOICE = "choice", _("One of several choices")
        MULTICHOICE = "multichoice", _("Any of several choices")
        CONFIRM = "confirm", _("Tick box (for example a declaration)")
        DOCUMENT = "document", _("Document upload")

    service = ParentalKey(Service, on_delete=models.CASCADE, related_name="form_fields")
    key = models.SlugField(
        _("key"),
        max_length=40,
        help_text=_("A short name for this answer in exports and the API, e.g. 'household-size'."),
    )
    field_type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    required = models.BooleanField(_("required"), default=True)
    locals().update(text_fields("label", _("question"), blank=False, max_length=200))
    locals().update(text_fields("help", _("help text"), max_length=300))
    locals().update(
        text_fields(
            "choices",
            _("choices"),
            help_text=_(
                "For choice questions: one choice per line, in the same order in each language."
            ),
        )
    )

    panels = [
        FieldRowPanel([FieldPanel("key"), FieldPanel("field_type"), FieldPanel("required")]),
        language_row("label"),
        language_row("help"),
        language_row("choices"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        constraints = [
            models.UniqueConstraint(fields=["service", "key"], name="cases_formfield_unique_key")
        ]

    def __str__(self):
        return self.label

    @property
    def label(self):
        return localized(self, "label")

    @property
    def help(self):
        return localized(self, "help")

    @property
    def has_choices(self):
        return self.field_type in {self.Type.CHOICE, self.Type.MULTICHOICE}

    def choice_lists(self):
        return {
            suffix: [
                line.strip()
                for line in getattr(self, f"choices_{suffix}").splitlines()
                if line.strip()
            ]
            for suffix in LANGUAGE_SUFFIXES
        }

    def choices(self):
        """(value, label) pairs: the value is the position, so answers mean the same in every
        language; the label is in the active language."""
        lists = self.choice_lists()
        labels = lists[language_field_suffix()] or lists["en"] or lists["zh_hant"]
        return [(str(index), label) for index, label in enumerate(labels, start=1)]

    def clean(self):
        if self.has_choices:
            counts = {len(values) for values in self.choice_lists().values()}
            if counts == {0}:
                raise ValidationError({"choices_zh_hant": _("A choice question needs choices.")})
            if len(counts) > 1:
                raise ValidationError(
                    {"choices_en": _("Give the same number of choices in each language.")}
                )


class StatusText(Orderable):
    """How one service words a public status, and what it says happens next."""

    service = ParentalKey(Service, on_delete=models.CASCADE, related_name="status_texts")
    status = models.CharField(_("status"), max_length=20, choices=PublicStatus.choices)
    locals().update(text_fields("label", _("wording"), max_length=100))
    locals().update(text_fields("next_step", _("what happens next")))

    panels = [FieldPanel("status"), language_row("label"), language_row("next_step")]

    class Meta(Orderable.Meta):
        verbose_name = _("status wording")
        verbose_name_plural = _("status wording")
        constraints = [
            models.UniqueConstraint(fields=["service", "status"], name="cases_statustext_unique")
        ]


# Cases ------------------------------------------------------------------------------------------


class CaseState(models.TextChoices):
    """The internal states officers work with. Residents see `PUBLIC_STATUS[state]`."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RESULT_READY = "result_ready", _("Result ready")
    COLLECTED = "collected", _("Collected")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


PUBLIC_STATUS = {
    CaseState.DRAFT: PublicStatus.DRAFT,
    CaseState.SUBMITTED: PublicStatus.RECEIVED,
    CaseState.RESUBMITTED: PublicStatus.RECEIVED,
    CaseState.CORRECTION_REQUESTED: PublicStatus.ACTION_NEEDED,
    CaseState.ACCEPTED: PublicStatus.IN_PROGRESS,
    CaseState.IN_PROGRESS: PublicStatus.IN_PROGRESS,
    CaseState.APPROVED: PublicStatus.APPROVED,
    CaseState.REJECTED: PublicStatus.REJECTED,
    CaseState.RESULT_READY: PublicStatus.READY,
    CaseState.COLLECTED: PublicStatus.DONE,
    CaseState.CLOSED: PublicStatus.DONE,
    CaseState.WITHDRAWN: PublicStatus.WITHDRAWN,
}

# The office's clock runs in these states (from receipt to decision); the due date and the
# queue's "working days left" apply to them.
OPEN_STATES = (
    CaseState.SUBMITTED,
    CaseState.CORRECTION_REQUESTED,
    CaseState.RESUBMITTED,
    CaseState.ACCEPTED,
    CaseState.IN_PROGRESS,
)
DECIDED_STATES = (
    CaseState.APPROVED,
    CaseState.REJECTED,
    CaseState.RESULT_READY,
    CaseState.COLLECTED,
    CaseState.CLOSED,
)


class ReferenceSequence(models.Model):
    """The last reference number given out per office and year. Taken with a row lock in the
    transaction that submits the case, so a rolled-back submission gives its number back and
    references have no gaps."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "year"], name="cases_refseq_unique")
        ]

    def __str__(self):
        return f"{self.office_id}-{self.year}: {self.last}"


class Case(models.Model):
    """One application, enquiry or complaint, from draft to its end."""

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        WINDOW = "window", _("Filed at the window")
        HOTLINE = "hotline", _("District hotline")
        API = "api", _("Department system")

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="cases", verbose_name=_("service")
    )
    # The service's office when the case was made: the queue and scoping read it directly.
    office = models.ForeignKey(
        Office,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("office"),
        db_index=False,  # the queue's indexes lead with the office (see Meta)
    )
    reference = models.CharField(_("reference"), max_length=30, unique=True, null=True, blank=True)
    state = models.CharField(
        _("status"), max_length=30, choices=CaseState.choices, default=CaseState.DRAFT
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.ONLINE
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("applicant"),
        db_index=False,  # cases_applicant_idx leads with it
    )
    # For applicants without an account (at the window, on the hotline): who they are.
    applicant_name = models.CharField(_("applicant's name"), max_length=80, blank=True)
    applicant_id_number = models.CharField(_("ID number"), max_length=20, blank=True)
    applicant_phone = models.CharField(_("phone"), max_length=16, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filed by"),
        db_index=False,  # a partial index (see Meta)
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assigned officer"),
        db_index=False,  # a partial index (see Meta)
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    # The hotline's enquiries and complaints.
    category = models.CharField(_("category"), max_length=80, blank=True)
    street = models.ForeignKey(
        "accounts.Street",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("street"),
        db_index=False,  # a partial index (see Meta)
    )
    community = models.ForeignKey(
        Community,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("community"),
        db_index=False,  # a partial index (see Meta)
    )
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    result_note = models.TextField(_("how to get the result"), blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    # The office's clock starts here (set once, by the "accept" step; see lifecycle.py).
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    # Derived from the calendar, never typed: see services.refresh_due_date().
    due_date = models.DateField(_("due date"), null=True, blank=True)
    at_risk_from = models.DateField(_("at risk from"), null=True, blank=True)
    due_provisional = models.BooleanField(_("due date provisional"), default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The officer queue: one office's open cases in due-date order, read straight off
            # the index (first page and count without sorting 100,000 rows) ...
            models.Index(
                fields=["office", "due_date", "id"],
                name="cases_open_queue_idx",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            # ... and one state of one office, by due date.
            models.Index(fields=["office", "state", "due_date"], name="cases_queue_idx"),
            models.Index(fields=["applicant", "state"], name="cases_applicant_idx"),
            # A due date moved by a calendar change rewrites the row, and PostgreSQL then
            # writes an entry into every index whose condition the row meets: the columns
            # most cases leave empty are indexed only where they are set, and the office and
            # applicant have no index of their own besides the ones above that lead with them.
            models.Index(
                fields=["applicant_id_number"],
                name="cases_id_number_idx",
                condition=~models.Q(applicant_id_number=""),
            ),
            models.Index(
                fields=["assigned_to"],
                name="cases_assigned_idx",
                condition=models.Q(assigned_to__isnull=False),
            ),
            models.Index(
                fields=["filed_by"],
                name="cases_filed_by_idx",
                condition=models.Q(filed_by__isnull=False),
            ),
            models.Index(
                fields=["street"], name="cases_street_idx", condition=models.Q(street__isnull=False)
            ),
            models.Index(
                fields=["community"],
                name="cases_community_idx",
                condition=models.Q(community__isnull=False),
            ),
        ]

    def __str__(self):
        return self.reference or str(_("Draft"))

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("cases:case", args=[self.pk])

    @property
    def public_status(self):
        return PUBLIC_STATUS[self.state]

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    @property
    def is_draft(self):
        return self.state == CaseState.DRAFT


class CasePause(models.Model):
    """An interval in which the clock was stopped: the office waited on the resident."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    started_on = models.DateField(_("clock stopped on"))
    ended_on = models.DateField(_("clock ran again on"), null=True, blank=True)
    reason = models.CharField(_("waiting for"), max_length=200)

    class Meta:
        ordering = ["started_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(ended_on__isnull=True),
                name="cases_one_open_pause",
            )
        ]

    def __str__(self):
        return f"{self.started_on}–{self.ended_on or ''} {self.reason}"


class CaseExtension(models.Model):
    """Working days granted on top of the service's promise, within its extension rule."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("working days"))
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        ordering = ["granted_at", "pk"]

    def __str__(self):
        return f"+{self.days} {self.reason}"


class CaseFileStorage(PrivateFileStorage):
    """Uploaded case documents (CASES_FILES_ROOT, never under MEDIA_ROOT)."""

    root_setting = "CASES_FILES_ROOT"
    served_by = "the case's document view"


case_files_storage = CaseFileStorage()


def case_file_path(instance, filename):
    import uuid

    return f"{instance.case_id}/{uuid.uuid4().hex}"


class CaseDocument(models.Model):
    class Kind(models.TextChoices):
        APPLICATION = "application", _("Sent with the application")
        CORRECTION = "correction", _("Sent as a correction")
        DECISION = "decision", _("Decision document")
        OFFICE = "office", _("From the office")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    field_key = models.SlugField(_("form field"), max_length=40, blank=True)
    file = models.FileField(storage=case_files_storage, upload_to=case_file_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.filename


class CaseMessage(models.Model):
    """A message between the resident and the office, on the case page."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    from_office = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.body[:50]


class ResidentIdentity(models.Model):
    """A resident's identity card number, once an officer has seen the card. Kept here rather
    than on the profile so the accounts app needs no change for it; cards read it too. A case
    filed at the window for someone without an account links itself to the account whose
    verified number matches (services.link_cases_for)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity"
    )
    id_number = models.CharField(_("ID number"), max_length=20, unique=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("verified identity")
        verbose_name_plural = _("verified identities")

    def __str__(self):
        return f"{self.user_id}: {self.id_number[:3]}…"

    @property
    def verified(self):
        return self.verified_at is not None


# Back-office API -------------------------------------------------------------------------------


class ApiClient(models.Model):
    """A department system that reads and updates one office's cases through the API. Only
    the token's SHA-256 is kept; the token itself is shown once, when it is issued."""

    name = models.CharField(_("name"), max_length=80)
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="api_clients", verbose_name=_("office")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("case API client")
        verbose_name_plural = _("case API clients")

    def __str__(self):
        return self.name


class ApiIdempotencyKey(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="cases_idempotency_unique")
        ]

    def __str__(self):
        return self.key


class CaseEvent(models.Model):
    """The feed department systems follow with a cursor (the event id): what changed on which
    case. Written in the same transaction as the change."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    # No index of its own: the feed's index leads with the office.
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["office", "id"], name="cases_event_feed_idx")]

    def __str__(self):
        return f"{self.pk} {self.kind}"
