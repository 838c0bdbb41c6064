"""Path converters for FHIR ids in the record's URLs: anything else (a NUL byte, a 100 kB
string) is simply not found, before a view or the database sees it (issue 10 §6)."""

from django.urls import register_converter


class FhirIdConverter:
    regex = r"[A-Za-z0-9\-.]{1,64}"  # FHIR R4 id (health/fhir/validation.py ID_RE)

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class FhirTypeConverter(FhirIdConverter):
    regex = r"[A-Z][A-Za-z]{1,63}"


register_converter(FhirIdConverter, "fhir_id")
register_converter(FhirTypeConverter, "fhir_type")
