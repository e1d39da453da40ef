"""The doctor's django-q2 task: thin, and safe to run twice."""

import logging

from connectors.models import Connector, DoctorReport

from .findings import counted
from .runner import run_doctor

logger = logging.getLogger(__name__)


def run_doctor_task() -> str:
    """Diagnose every connector, store each report, and return one line for the
    task list."""
    reports = [
        run_doctor(connector, DoctorReport.Trigger.SCHEDULE)
        for connector in Connector.objects.order_by("name")
    ]
    with_errors = [report.connector.name for report in reports if report.error_count]
    with_warnings = [
        report.connector.name
        for report in reports
        if report.warning_count and not report.error_count
    ]
    line = (
        f"Doctor checked {counted(len(reports), 'connector')}: "
        f"{len(with_errors)} with errors"
        + (f" ({', '.join(with_errors)})" if with_errors else "")
        + f", {len(with_warnings)} with warnings only"
        + (f" ({', '.join(with_warnings)})" if with_warnings else "")
        + "."
    )
    logger.info("%s", line)
    return line
