"""manage.py revoke_fhir_token KEY_ID: stop a token working at once."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from health.fhir.models import ApiToken


class Command(BaseCommand):
    help = "Revoke a FHIR API token by its key id (the part after fhir_ in the token)."

    def add_arguments(self, parser):
        parser.add_argument("key_id")

    def handle(self, *args, key_id, **options):
        updated = ApiToken.objects.filter(key_id=key_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not updated:
            raise CommandError(f"No active token with key id {key_id!r}")
        self.stdout.write(f"Token {key_id} revoked.")
