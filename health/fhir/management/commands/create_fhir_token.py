"""manage.py create_fhir_token NAME SCOPES...: issue a bearer token for another system."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from health.fhir.access import issue_token


class Command(BaseCommand):
    help = (
        "Issue a FHIR API token with SMART scopes, e.g. "
        "create_fhir_token 'Hospital lab' user/Observation.cruds user/Patient.rs. "
        "The token is printed once; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("scopes", nargs="+")
        parser.add_argument("--patient", default="", help="Patient id for patient/ scopes")
        parser.add_argument("--days", type=int, default=0, help="expire after this many days")

    def handle(self, *args, name, scopes, patient, days, **options):
        expires = timezone.now() + timedelta(days=days) if days > 0 else None
        try:
            token, text = issue_token(
                name, " ".join(scopes), patient_id=patient, expires_at=expires
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Token for {token.name} (key id {token.key_id}):")
        self.stdout.write(text)
