import textwrap

from django.core.management.base import BaseCommand, CommandError

from connectors.doctor import Severity, diagnose, save_report
from connectors.doctor.findings import counted, format_value
from connectors.doctor.schedule import SCHEDULE_NAME, ensure_daily_schedule
from connectors.models import Connector, DoctorReport

from ._helpers import get_connector

WIDTH = 79
LABELS = {
    Severity.ERROR: "ERROR",
    Severity.WARNING: "WARNING",
    Severity.INFO: "info",
}


class Command(BaseCommand):
    help = (
        "Run every doctor check on a connector (or on every connector) and list "
        "the findings, each with its severity, evidence and next step. Stores "
        "the result as the connector's last report. Exits non-zero when a "
        "finding is an error."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "name", nargs="?", help="The connector's name. Empty: every connector."
        )
        parser.add_argument(
            "--no-save",
            action="store_true",
            help="Print the findings without storing them as the last report.",
        )
        parser.add_argument(
            "--install-schedule",
            action="store_true",
            help=f"Create or repair the daily django-q2 schedule {SCHEDULE_NAME!r} "
            "that runs the doctor on every connector, then exit.",
        )

    def handle(self, *args, name=None, no_save=False, install_schedule=False, **opts):
        if install_schedule:
            schedule = ensure_daily_schedule()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Schedule {schedule.name!r} runs {schedule.func} daily; next "
                    f"run {schedule.next_run:%Y-%m-%d %H:%M}."
                )
            )
            return
        connectors = (
            [get_connector(name)] if name else list(Connector.objects.order_by("name"))
        )
        if not connectors:
            self.stdout.write("No connectors to check.")
            return
        verbosity = opts["verbosity"]
        totals = dict.fromkeys(Severity, 0)
        failing = []
        for connector in connectors:
            diagnosis = diagnose(connector)
            if not no_save:
                save_report(diagnosis, DoctorReport.Trigger.COMMAND)
            for severity in Severity:
                totals[severity] += diagnosis.count(severity)
            if diagnosis.has_errors:
                failing.append(connector.name)
            self._print(diagnosis, verbosity)
        summary = (
            f"Checked {counted(len(connectors), 'connector')}: "
            f"{counted(totals[Severity.ERROR], 'error')}, "
            f"{counted(totals[Severity.WARNING], 'warning')}, "
            f"{counted(totals[Severity.INFO], 'note')}."
        )
        if failing:
            raise CommandError(f"{summary} Errors on: {', '.join(failing)}.")
        self.stdout.write(self.style.SUCCESS(summary))

    def _print(self, diagnosis, verbosity: int) -> None:
        connector = diagnosis.connector
        self.stdout.write(
            f"{connector.name} ({connector.get_kind_display()}): "
            f"{counted(diagnosis.count(Severity.ERROR), 'error')}, "
            f"{counted(diagnosis.count(Severity.WARNING), 'warning')}, "
            f"{counted(diagnosis.count(Severity.INFO), 'note')} "
            f"({len(diagnosis.checks)} checks, {diagnosis.seconds:.1f} s)"
        )
        if verbosity < 1:
            return
        ordered = sorted(
            diagnosis.findings, key=lambda f: list(Severity).index(f.severity)
        )
        for finding in ordered:
            self._print_finding(finding, verbosity)

    def _print_finding(self, finding, verbosity: int) -> None:
        style = {
            Severity.ERROR: self.style.ERROR,
            Severity.WARNING: self.style.WARNING,
        }.get(finding.severity, str)
        head = f"  {LABELS[finding.severity]:<8}{finding.title} [{finding.code}]"
        self.stdout.write(style(head))
        self._wrapped(finding.message, "    ")
        for key, value in finding.as_dict()["evidence"].items():
            self._wrapped(f"{key.replace('_', ' ')}: {format_value(value)}", "    - ")
        self._wrapped(f"Next step: {finding.next_step}", "    ")
        if verbosity > 1:
            for label, url in finding.links:
                self.stdout.write(f"    {label}: {url}")

    def _wrapped(self, text: str, indent: str) -> None:
        self.stdout.write(
            textwrap.fill(
                text,
                WIDTH,
                initial_indent=indent,
                subsequent_indent=" " * len(indent),
                break_on_hyphens=False,
            )
        )
