from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.workcalendar.models import FIRST_YEAR, LAST_YEAR
from portal.workcalendar.services import REGIONS, calendar_region, seed_year


class Command(BaseCommand):
    help = (
        "Seed the business calendar's public holidays and make-up working days from the "
        "`holidays` package for mainland China (CN), Hong Kong (HK) or Taiwan (TW), as "
        "WORKCALENDAR_REGION says. Days staff entered are kept. Years stay unconfirmed unless "
        "--confirm is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "years", nargs="*", type=int, help="years to seed (default: this year and the next)"
        )
        parser.add_argument("--region", choices=sorted(REGIONS), help="overrides the setting")
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="also mark the years confirmed (only after checking the official schedule)",
        )

    def handle(self, *args, years, region, confirm, **options):
        region = region or calendar_region()
        if not years:
            this_year = timezone.localdate().year
            years = [this_year, this_year + 1]
        for year in years:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise CommandError(f"Years from {FIRST_YEAR} to {LAST_YEAR}, not {year}.")
        for year in years:
            added, updated, removed = seed_year(year, region, confirm=confirm)
            state = "confirmed" if confirm else "not confirmed"
            self.stdout.write(
                f"{year} ({region}): {added} added, {updated} updated, {removed} removed; {state}."
            )
