from django.core.management.base import BaseCommand, CommandError

from connectors.models import SyncRun
from connectors.sync import enabled_streams, run_stream

from ._helpers import get_connector


class Command(BaseCommand):
    help = (
        "Run every enabled stream of a connector once, in cycle order, and print "
        "one line per stream. Exits non-zero if any stream failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The connector's name, e.g. 'THG Demo'.")
        parser.add_argument(
            "--stream",
            action="append",
            dest="streams",
            help="Run only this stream (repeatable).",
        )

    def handle(self, *args, name, streams=None, **options):
        connector = get_connector(name)
        streams = streams or enabled_streams(connector)
        failed = []
        for stream in streams:
            try:
                run = run_stream(connector, stream, SyncRun.Trigger.COMMAND)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            seconds = run.duration.total_seconds() if run.duration else 0.0
            line = (
                f"{stream:<13} {run.get_status_display().lower():<9} "
                f"fetched {run.fetched:>5}  created {run.created:>5}  "
                f"updated {run.updated:>5}  failed {run.failed:>4}  {seconds:6.2f} s"
            )
            if run.status == SyncRun.Status.FAILED:
                failed.append(stream)
                self.stdout.write(self.style.ERROR(line))
                self.stdout.write(f"  {run.error}")
            elif run.status == SyncRun.Status.SKIPPED:
                self.stdout.write(self.style.WARNING(line))
            else:
                self.stdout.write(line)
                if run.error:
                    self.stdout.write(self.style.WARNING(f"  {run.error}"))
            connector.refresh_from_db()
        if failed:
            raise CommandError(f"{len(failed)} streams failed: {', '.join(failed)}.")
        self.stdout.write(
            self.style.SUCCESS(f"{connector}: {len(streams)} streams ran.")
        )
