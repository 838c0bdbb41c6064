"""manage.py import_fhir FILE_OR_FOLDER...: load FHIR Bundles, resources and NDJSON."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from health.fhir.access import system_requester
from health.fhir.importer import check_parallel, import_files
from health.fhir.store import analyze_tables


class Command(BaseCommand):
    help = (
        "Import FHIR R4 JSON: transaction/batch/collection Bundles, single resources, and "
        "NDJSON (one resource per line). Folders are searched for *.json and *.ndjson. "
        "A bad file is reported and skipped; the others are imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files or folders")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=1000,
            help="NDJSON resources per transaction (default 1000)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help=_(
                "Import this many files at once, each in its own process with its own "
                "database connection (default 1). PostgreSQL only."
            ),
        )
        parser.add_argument(
            "--base-url",
            default="urn:import",
            help="base URL used in response links (default urn:import)",
        )

    def handle(self, *args, paths, chunk_size, base_url, workers, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        if workers < 1:
            raise CommandError(_("--workers must be at least 1"))
        if workers > 1:
            if connection.vendor == "sqlite":
                raise CommandError(
                    _(
                        "--workers above 1 needs PostgreSQL: SQLite lets only one process "
                        "write at a time, so the workers would only wait for each other. "
                        "Run without --workers."
                    )
                )
            try:
                check_parallel()
            except ValueError as exc:
                raise CommandError(
                    _("--workers above 1 cannot be used here: %(reason)s") % {"reason": exc}
                ) from None
        requester = system_requester("import_fhir")
        width = 30

        def progress(index, total, path, created, error):
            done = int(width * index / total)
            bar = "#" * done + "." * (width - done)
            status = f"rejected: {error[:120]}" if error else f"{created} created"
            self.stdout.write(f"[{bar}] {index}/{total} {path.name}: {status}")

        report = import_files(paths, requester, base_url, progress, chunk_size, workers)
        if report.total_created:
            analyze_tables()
        self.stdout.write("")
        self.stdout.write(f"Files: {report.files}")
        for label, counter in (
            ("Created", report.created),
            ("Updated", report.updated),
            ("Already present", report.unchanged),
        ):
            if counter:
                detail = ", ".join(f"{t} {n}" for t, n in sorted(counter.items()))
                self.stdout.write(f"{label}: {sum(counter.values())} ({detail})")
        if report.rejected:
            self.stderr.write(f"Rejected: {len(report.rejected)}")
            for path, where, reason in report.rejected:
                self.stderr.write(f"  {path} {where}: {reason}")
            raise CommandError(f"{len(report.rejected)} item(s) rejected; see above")
        self.stdout.write(self.style.SUCCESS("Import finished without rejections."))
