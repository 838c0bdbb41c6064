"""Display names of clinical codes (SNOMED CT, LOINC, CVX, RxNorm, the district's own) in the
portal's three languages. Clinic staff keep them in the admin; `load_terminology` loads the
seed file. The FHIR layer reads them (health.fhir imports this package, never the reverse)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Term(models.Model):
    system = models.CharField(
        _("code system"),
        max_length=200,
        help_text=_("The code system's URI, e.g. http://loinc.org"),
    )
    code = models.CharField(_("code"), max_length=100)
    display_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    display_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=300, blank=True)
    display_zh_hans = models.CharField(_("name (Simplified Chinese)"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "code"]
        verbose_name = _("clinical term")
        verbose_name_plural = _("clinical terms")
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="terminology_term_unique")
        ]

    def __str__(self):
        return f"{self.code} · {self.display_en or self.display_zh_hant}"

    def names(self):
        """The three names in one line, for the admin's list (narrow enough for a phone)."""
        return " · ".join(
            name for name in (self.display_zh_hant, self.display_zh_hans, self.display_en) if name
        )

    names.short_description = _("names")

    def display(self, language):
        """The name in a language key ("en", "zh_hant", "zh_hans"), or ""."""
        return getattr(self, f"display_{language}", "") or ""
