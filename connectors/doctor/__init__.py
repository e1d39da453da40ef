"""The connector doctor: checks that explain why data does not flow.

:func:`diagnose` runs every check on one connector and returns its
findings, each with a severity, the evidence and the next step;
:func:`run_doctor` also stores them as the connector's
:class:`~connectors.models.DoctorReport`, and :func:`latest_reports` returns
the stored reports for a dashboard. The ``doctor`` command, the connector's
Diagnose page and the daily ``doctor:daily`` schedule all run the same
checks, listed in :data:`connectors.doctor.runner.CHECKS`.
"""

from .findings import Finding, Severity
from .runner import CHECKS, Diagnosis, diagnose, latest_reports, run_doctor, save_report

__all__ = [
    "CHECKS",
    "Diagnosis",
    "Finding",
    "Severity",
    "diagnose",
    "latest_reports",
    "run_doctor",
    "save_report",
]
