"""Storage for the FHIR store.

The layout follows the real FHIR servers (HAPI's JPA store, Medplum): one current row per
resource, a history row per version, and narrow search-index tables, one per kind of search
parameter. All rows for one write are written in one database transaction (see store.py), so
a search never sees a resource whose index is half written.

The JSON body is kept on the current row as well as in the history so that reads and searches
never join the history table.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Resource(models.Model):
    """The current version of one resource (also kept, flagged, after a delete)."""

    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    # The JSON text exactly as served (compact, with id and meta). Text rather than a JSON
    # column: the store never queries inside it (the index tables do that), and bundles are
    # assembled from it without decoding and re-encoding every resource.
    body = models.TextField(null=True)
    deleted = models.BooleanField(default=False)
    # The id of the Patient whose compartment holds this resource (its own id for a Patient).
    # Denormalised so resident access, $everything and per-patient searches are one indexed
    # column instead of a join through the reference index.
    patient_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "resource_id"], name="fhir_res_type_id"
            ),
        ]
        indexes = [
            models.Index(fields=["patient_id", "resource_type"], name="fhir_res_patient"),
            models.Index(fields=["resource_type", "last_updated"], name="fhir_res_type_updated"),
        ]
        verbose_name = _("FHIR resource")
        verbose_name_plural = _("FHIR resources")

    def __str__(self):
        return f"{self.resource_type}/{self.resource_id}/_history/{self.version_id}"

    @property
    def reference(self):
        return f"{self.resource_type}/{self.resource_id}"


class ResourceVersion(models.Model):
    """One version of a resource, as written; a delete is a version without a body."""

    # Indexed through the unique (current, version_id) constraint.
    current = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField()
    last_updated = models.DateTimeField()
    # Empty while this is the current version (see `text`), and for deletions.
    body = models.TextField(null=True)
    deleted = models.BooleanField(default=False)
    # The HTTP method of the interaction that made the version (POST, PUT, DELETE), for history.
    method = models.CharField(max_length=8)
    # The patient compartment this version was written in. A resource can move to another
    # patient (a wrong-patient correction); its older versions stay in the old compartment.
    patient_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["current", "version_id"], name="fhir_ver_unique"),
        ]
        indexes = [
            models.Index(fields=["resource_type", "last_updated"], name="fhir_ver_type_updated"),
            models.Index(fields=["last_updated"], name="fhir_ver_updated"),
            models.Index(fields=["patient_id", "last_updated"], name="fhir_ver_patient"),
        ]

    def __str__(self):
        return f"{self.resource_type}/{self.resource_id}/_history/{self.version_id}"

    @property
    def text(self):
        """The version's JSON text; None for a deletion.

        The current version keeps no copy of its body (it is on the Resource row); the
        copy is written here when the version is superseded.
        """
        if self.deleted:
            return None
        if self.body is not None:
            return self.body
        return self.current.body if self.current.version_id == self.version_id else None


class IndexBase(models.Model):
    """Common columns of the search-index rows; rows are replaced on every write."""

    # No index of its own: each table's explicit indexes start with `resource`, and every
    # extra index costs on the import path that writes tens of thousands of rows. No
    # foreign key constraint in the database either: PostgreSQL checks one per index row
    # (about 24 per resource) at commit, which cost an import a third of its time
    # (docs/benchmarks.md). Index rows are written and removed only by store.py, in the
    # transaction that writes their resource; deleting a Resource through Django still
    # deletes them (the cascade is Django's).
    resource = models.ForeignKey(
        Resource,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    resource_type = models.CharField(max_length=64)
    param = models.CharField(max_length=64)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.resource_type} {self.param}"


class TokenIndex(IndexBase):
    system = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=255)
    # The resource's patient compartment, copied here so "this patient's Observations with
    # code X" is one narrow index range rather than every patient's X joined to the patient.
    patient_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            # `resource` last: the semi-join for a busy code reads resource ids from the
            # index alone, without visiting the table.
            models.Index(
                fields=["resource_type", "param", "code", "system", "resource"],
                name="fhir_tok_lookup2",
            ),
            models.Index(
                fields=["patient_id", "resource_type", "param", "code", "system", "resource"],
                name="fhir_tok_patient",
            ),
            models.Index(fields=["resource", "param", "code"], name="fhir_tok_resource2"),
        ]


class StringIndex(IndexBase):
    # Case- and accent-folded for the default (starts-with) match; `exact` keeps the original.
    value = models.CharField(max_length=255)
    exact = models.CharField(max_length=255)

    class Meta:
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_str_lookup"),
            models.Index(fields=["resource"], name="fhir_str_resource"),
        ]


class DateIndex(IndexBase):
    # Every FHIR date, dateTime, instant and Period is indexed as the closed range it covers.
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["resource_type", "param", "start", "end"], name="fhir_date_lookup"
            ),
            models.Index(fields=["resource", "param", "start"], name="fhir_date_resource"),
        ]


class ReferenceIndex(IndexBase):
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=255)

    class Meta:
        indexes = [
            models.Index(
                fields=["resource_type", "param", "target_id", "target_type", "resource"],
                name="fhir_ref_lookup2",
            ),
            models.Index(fields=["resource", "param"], name="fhir_ref_resource"),
        ]


class QuantityIndex(IndexBase):
    value = models.DecimalField(max_digits=30, decimal_places=10)
    system = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["resource_type", "param", "value"], name="fhir_qty_lookup"),
            models.Index(fields=["resource"], name="fhir_qty_resource"),
        ]


class ConditionalCreateKey(models.Model):
    """Claims the search criteria of a conditional create (If-None-Exist).

    Two concurrent conditional creates with the same criteria both search, both find nothing
    and both insert: the unique constraint here lets exactly one of them commit. The loser
    searches again and finds the winner's resource. A key is dropped when its resource is
    updated or deleted, because the resource may no longer match the criteria.
    """

    resource_type = models.CharField(max_length=64)
    criteria_hash = models.CharField(max_length=64)
    criteria = models.TextField()
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource_type", "criteria_hash"], name="fhir_condcreate_unique"
            ),
        ]

    def __str__(self):
        return f"{self.resource_type}?{self.criteria}"


class ApiToken(models.Model):
    """A bearer token for another system, with SMART-style scopes.

    Only a hash of the secret is stored; the token is shown once when it is issued. The
    secret is 256 random bits, so a fast hash is as safe as a slow one and keeps every API
    request cheap.
    """

    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(_("key id"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.TextField(
        _("scopes"),
        help_text=_("Space-separated SMART scopes, e.g. user/*.rs user/Observation.cruds"),
    )
    # For patient/ scopes: the Patient whose compartment the token is limited to.
    patient_id = models.CharField(_("patient id"), max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("FHIR API token")
        verbose_name_plural = _("FHIR API tokens")

    def __str__(self):
        return self.name


class PatientLink(models.Model):
    """A portal account linked to a Patient resource of the store.

    The account may read that Patient's compartment (and nothing else) through the API and
    the record pages. Kept here, beneath every app that reads health data, because access
    rules (access.py) and projections need it; health/records issues the links.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patient_links"
    )
    patient_id = models.CharField(_("patient id"), max_length=64)
    linked_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        constraints = [
            # Names from the records app, where the table was created, kept on the move.
            models.UniqueConstraint(fields=["user", "patient_id"], name="records_link_unique"),
        ]
        indexes = [models.Index(fields=["patient_id"], name="records_link_patient")]
        verbose_name = _("patient link")
        verbose_name_plural = _("patient links")

    def __str__(self):
        return f"{self.user} → Patient/{self.patient_id}"


class AuditEvent(models.Model):
    """One access to health data: who, in which role, through which app, when, what, about
    which patient. Written by the store itself (audit.py), never by its callers."""

    class Action(models.TextChoices):
        READ = "read", _("viewed")
        VREAD = "vread", _("viewed an earlier version")
        SEARCH = "search", _("searched")
        HISTORY = "history", _("viewed the history")
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        DELETE = "delete", _("deleted")
        EXPORT = "export", _("exported")

    occurred_at = models.DateTimeField(_("when"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text so the trail still says who it was after a user or token is deleted.
    actor = models.CharField(_("who"), max_length=150)
    role = models.CharField(_("role"), max_length=32)
    # The application the access went through (a resident's connected health app, a
    # district system), named as the resident should read it; empty for the portal itself.
    app = models.CharField(_("app"), max_length=150, blank=True, default="")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    resource_type = models.CharField(_("resource type"), max_length=64, blank=True)
    resource_id = models.CharField(_("resource id"), max_length=64, blank=True)
    patient_id = models.CharField(_("patient id"), max_length=64, blank=True)
    # How many resources one row stands for (a search page, a whole imported Bundle).
    count = models.PositiveIntegerField(default=1)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["patient_id", "-occurred_at"], name="records_audit_patient")
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.resource_type}"
