from django.core.management.base import BaseCommand, CommandError

from health.terminology.loading import SEED, SeedError, load


class Command(BaseCommand):
    help = (
        "Load clinical terms (system, code, en, zh_hant, zh_hans) from a CSV file; by default "
        "the seed file. Names clinic staff changed in the admin are kept unless --overwrite."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(SEED))
        parser.add_argument("--overwrite", action="store_true")

    def handle(self, path, overwrite, **options):
        try:
            added, updated = load(path, overwrite=overwrite)
        except (OSError, SeedError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Clinical terms: {added} added, {updated} updated.")
