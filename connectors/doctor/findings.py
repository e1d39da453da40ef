"""Findings, the result of every check: a severity, evidence and a next step."""

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


#: Sort order of severities: errors first.
SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
#: Examples kept in a finding's evidence; the counts cover every item.
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One problem (or one fact worth knowing) about a connector.

    ``check`` is the id of the check that found it and ``code`` a stable id of
    the finding, for scripts to filter on. ``title`` names the symptom a
    merchant reports, and ``message`` describes what was found. ``evidence``
    contains the ids, counts, dates and values behind it (JSON values only),
    and ``next_step`` is the action to take. ``links`` are ``(label, URL path)`` pairs
    to admin pages that show more.
    """

    check: str
    code: str
    severity: Severity
    title: str
    message: str
    next_step: str
    evidence: dict = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "code": self.code,
            "severity": str(self.severity),
            "title": self.title,
            "message": self.message,
            "next_step": self.next_step,
            "evidence": {
                key: json_value(value) for key, value in self.evidence.items()
            },
            "links": [list(link) for link in self.links],
        }


def json_value(value):
    """Return ``value`` with dates as ISO 8601 text, so it can be stored as JSON."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [json_value(item) for item in items]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def sort_findings(findings: list[dict]) -> list[dict]:
    """Return stored findings with errors first; ties keep the check order."""
    return sorted(
        findings, key=lambda finding: SEVERITY_RANK[Severity(finding["severity"])]
    )


def format_value(value) -> str:
    """Render an evidence value on one line, for the command and the page."""
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={format_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        if not value:
            return "none"
        if all(isinstance(item, dict) for item in value):
            return "; ".join(format_value(item) for item in value)
        return ", ".join(format_value(item) for item in value)
    return str(value)


def evidence_lines(finding: dict) -> list[tuple[str, str]]:
    """Return ``(label, text)`` for each evidence entry of a stored finding."""
    return [
        (key.replace("_", " "), format_value(value))
        for key, value in finding.get("evidence", {}).items()
    ]


def counted(count: int, noun: str, plural: str = "") -> str:
    """Return ``count`` with ``noun`` in the singular or plural: "1 item"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
