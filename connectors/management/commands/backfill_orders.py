import sys
import time
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from connectors.forms import BackfillForm
from connectors.models import Connector, Stream, SyncRun
from connectors.sync import run_stream

from ._helpers import get_connector


class Command(BaseCommand):
    help = (
        "Pull every order of a THG connector updated in a date range (at most 6 "
        "months back). Resumes where an interrupted backfill stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The connector's name.")
        parser.add_argument("--since", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--until", help="Last day, YYYY-MM-DD (default: today).")

    def handle(self, *args, name, since, until, **options):
        connector = get_connector(name)
        if connector.kind != Connector.Kind.THG:
            raise CommandError(f"{connector} is not a THG connector.")
        form = BackfillForm({"since": since, "until": until or ""})
        if not form.is_valid():
            given = {"since": since, "until": until}
            problems = " ".join(
                f"--{field}: {' '.join(errors)}".replace(
                    "Enter a valid date.",
                    f"{given[field]!r} is not a date; use YYYY-MM-DD.",
                )
                for field, errors in form.errors.items()
            )
            raise CommandError(problems)
        start = datetime.combine(form.cleaned_data["since"], datetime.min.time(), UTC)
        options = {"since": start, "on_page": self._progress}
        if form.cleaned_data["until"]:
            end = datetime.combine(form.cleaned_data["until"], datetime.min.time(), UTC)
            options["until"] = end + timedelta(days=1)
        self._started = time.monotonic()
        run = run_stream(connector, Stream.BACKFILL, SyncRun.Trigger.COMMAND, **options)
        if self.stdout.isatty():
            self.stdout.write("")
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(
                f"Backfill {run.get_status_display().lower()}: {run.error}. Run the "
                "same command again to resume."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{connector}: backfill done: {run.fetched} orders fetched, "
                f"{run.created} created, {run.updated} updated, {run.unchanged} "
                "unchanged."
            )
        )

    def _progress(self, run):
        seconds = time.monotonic() - self._started
        rate = run.fetched / seconds if seconds else 0
        bar = "#" * min(run.fetched // 100, 40)
        line = (
            f"{bar:<40} {run.fetched} orders ({run.created} new) in {seconds:.0f} s, "
            f"{rate:.0f}/s"
        )
        if sys.stdout.isatty():
            self.stdout.write(f"\r{line}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)
