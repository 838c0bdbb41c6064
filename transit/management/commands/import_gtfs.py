"""manage.py import_gtfs FEED_CODE SOURCE: import a GTFS feed (zip, folder or URL)."""

import resource
import sys

from django.core.management.base import BaseCommand, CommandError

from transit.importer import GTFSImportError, import_gtfs


class Command(BaseCommand):
    help = (
        "Import a GTFS feed from a zip file, a folder or an http(s) URL as a new version of "
        "FEED_CODE. The new version is built beside the live one and swapped in only when it "
        "is usable; a refused or failed import leaves the live version as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("feed_code", help="short name of the feed, e.g. 'district'")
        parser.add_argument("source", help="zip file, folder or http(s) URL")
        parser.add_argument("--name", default=None, help="the feed's display name")
        parser.add_argument(
            "--max-bad-fraction",
            type=float,
            default=None,
            help="refuse the feed when more than this share of rows is bad "
            "(default TRANSIT_IMPORT_MAX_BAD_FRACTION, 0.01)",
        )
        parser.add_argument(
            "--trip-updates-url",
            default=None,
            help="GTFS-realtime trip updates of this feed (URL or file)",
        )
        parser.add_argument(
            "--alerts-url",
            default=None,
            help="GTFS-realtime service alerts of this feed (URL or file)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, feed_code, source, **options):
        progress = not options["no_progress"] and sys.stderr.isatty()
        try:
            version, report = import_gtfs(
                feed_code,
                source,
                name=options["name"],
                max_bad_fraction=options["max_bad_fraction"],
                progress=progress,
            )
        except GTFSImportError as exc:
            if exc.report is not None:
                self._summary(exc.report)
            raise CommandError(f"{exc} -- the live version of {feed_code!r} is unchanged") from exc
        feed = version.feed
        changed = []
        for option, attr in (
            ("trip_updates_url", "trip_updates_url"),
            ("alerts_url", "alerts_url"),
        ):
            if options[option] is not None:
                setattr(feed, attr, options[option])
                changed.append(attr)
        if changed:
            feed.save(update_fields=changed)
        self._summary(report)
        rows = report.total_rows
        self.stdout.write(
            self.style.SUCCESS(
                f"{feed_code}: version {version.pk} is live "
                f"({rows} rows in {report.seconds:.1f} s, "
                f"{rows / max(report.seconds, 0.001):,.0f} rows/s, peak memory "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)."
            )
        )

    def _summary(self, report):
        for name in sorted(set(report.loaded) | set(report.bad)):
            bad = report.bad.get(name, 0)
            line = f"  {name:<20} {report.loaded.get(name, 0):>12,} rows"
            self.stdout.write(line + (f", {bad:,} bad" if bad else ""))
        for problem in report.problems[:50]:
            self.stdout.write(self.style.WARNING(f"  bad row  {problem}"))
        if len(report.problems) > 50 or report.total_bad > len(report.problems):
            self.stdout.write(f"  ... {report.total_bad} bad rows in all")
        for warning in report.warnings[:50]:
            self.stdout.write(f"  note     {warning}")
