"""manage.py create_activation_code PATIENT_ID --staff USERNAME: a code for a resident."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from health.fhir.errors import FhirError
from health.records.services import create_activation_code


class Command(BaseCommand):
    help = "Create a one-time activation code that links a resident's account to a Patient."

    def add_arguments(self, parser):
        parser.add_argument("patient_id")
        parser.add_argument("--staff", required=True, help="username of the issuing clinic staff")

    def handle(self, *args, patient_id, staff, **options):
        user = get_user_model().objects.filter(username=staff).first()
        if user is None:
            raise CommandError(f"No user {staff!r}")
        try:
            record, code = create_activation_code(patient_id, user)
        except FhirError as error:
            raise CommandError(f"Patient/{patient_id}: {error}") from error
        self.stdout.write(f"Activation code for Patient/{patient_id}: {code}")
        self.stdout.write(f"Valid until {record.expires_at:%Y-%m-%d %H:%M} UTC")
