"""Import a UPC-to-SKU mapping file into one connector from the shell."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.import_jobs import run_now
from connectors.models import Connector


def connector_named(name: str) -> Connector:
    """Return the connector called ``name``, or raise CommandError."""
    connector = Connector.objects.filter(name=name).first()
    if connector is None:
        known = ", ".join(Connector.objects.values_list("name", flat=True))
        raise CommandError(
            f"Connector {name!r} not found. Known connectors: {known or 'none'}."
        )
    return connector


class Command(BaseCommand):
    help = (
        "Import a UPC-to-SKU file (columns sku and upc) into a connector: its "
        "products' Channel SKUs on strategy B, its mapping table on strategy "
        "C. All or nothing unless --skip-bad-rows is given. Exits non-zero "
        "when nothing could be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The connector's name.")
        parser.add_argument(
            "file", help="A CSV (comma, semicolon or tab), TSV or XLSX file."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and print the report; write nothing.",
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Write the good rows even when some rows are rejected. "
            "Without it, one rejected row means nothing is written.",
        )

    def handle(self, *args, **options):
        connector = connector_named(options["name"])
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc

        job = run_now(
            connector,
            content,
            path.name,
            skip_bad_rows=options["skip_bad_rows"],
            dry_run=options["dry_run"],
        )
        report = job.report
        if options["verbosity"] >= 2:
            self.stdout.write(f"Import job {job.pk}: {job.get_status_display()}.")
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        for error in report.errors:
            self.stderr.write(f"Rejected: {error}")

        if report.blocked:
            summary = report.summary().replace(
                "choose to skip bad rows", "run again with --skip-bad-rows"
            )
            if options["dry_run"]:
                summary = f"Dry run: {summary}"
            raise CommandError(summary)
        summary = report.summary()
        if options["dry_run"]:
            summary = f"Dry run, nothing written: {summary}"
        if report.rejected:
            self.stdout.write(self.style.WARNING(summary))
        else:
            self.stdout.write(self.style.SUCCESS(summary))
