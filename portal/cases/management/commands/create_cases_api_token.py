import secrets

from django.core.management.base import BaseCommand, CommandError

from portal.cases.api import token_hash
from portal.cases.models import ApiClient, Office


class Command(BaseCommand):
    help = "Issue a Bearer token for a department system to use one office's case API."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the system's name, e.g. 'Housing department system'")
        parser.add_argument("office", help="the office's code, e.g. HKS")

    def handle(self, *args, name, office, **options):
        found = Office.objects.filter(code=office.upper()).first()
        if found is None:
            raise CommandError(f"No office with the code {office!r}.")
        token = secrets.token_urlsafe(32)
        ApiClient.objects.create(name=name[:80], office=found, token_hash=token_hash(token))
        self.stdout.write(f"Token for {name} ({found.code}), shown once:\n{token}")
