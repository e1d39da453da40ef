"""Import on-hand stock from a CSV or XLSX file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.importing import ImportRejected, import_stock
from inventory.tabular import TableError


class Command(BaseCommand):
    help = (
        "Set on-hand stock from a file with the columns SKU, Location code and "
        "On hand. One bad row rejects the file unless --skip-bad-rows is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV (UTF-8) or XLSX file.")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and list the bad ones.",
        )

    def handle(self, *args, path, skip_bad_rows=False, **options):
        file = Path(path)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            result = import_stock(
                content, skip_bad_rows=skip_bad_rows, reference=file.name
            )
        except TableError as exc:
            raise CommandError(str(exc)) from exc
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"Nothing was imported: {len(exc.errors)} problems in {file.name}."
            ) from exc
        for error in result.errors:
            self.stderr.write(f"Skipped: {error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.rows} rows: {result.changed} changed, {result.unchanged} "
                f"unchanged, {result.skipped} skipped."
            )
        )
