"""manage.py revoke_fhir_token KEY_ID: stop a token working at once."""

from django.core.management.base import BaseCommand, CommandError

from health.fhir.access import revoke_token


class Command(BaseCommand):
    help = "Revoke a FHIR API token by its key id (the part after fhir_ in the token)."

    def add_arguments(self, parser):
        parser.add_argument("key_id")

    def handle(self, *args, key_id, **options):
        if not revoke_token(key_id):
            raise CommandError(f"No active token with key id {key_id!r}")
        self.stdout.write(f"Token {key_id} revoked.")
