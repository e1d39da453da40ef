from django.core.management.base import BaseCommand, CommandError

from connectors.models import Stream, SyncRun
from connectors.sync import run_stream

from ._helpers import get_connector


class Command(BaseCommand):
    help = (
        "Push every item's stock total to the channel, whatever was sent before, "
        "in batches. Exits non-zero if the push failed or an item was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The connector's name.")

    def handle(self, *args, name, **options):
        connector = get_connector(name)
        run = run_stream(
            connector, Stream.INVENTORY, SyncRun.Trigger.COMMAND, force=True
        )
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"Resync failed: {run.error}")
        summary = (
            f"{connector}: {run.fetched} items sent, {run.updated} accepted, "
            f"{run.failed} rejected."
        )
        if run.failed:
            raise CommandError(f"{summary} {run.error}")
        self.stdout.write(self.style.SUCCESS(summary))
