"""Run every check on a connector, and keep the result as its last report."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from connectors.logging import redact
from connectors.models import Connector, DoctorReport

from .checks import channel, identifiers, locations, orders, stock, upkeep
from .context import DoctorContext
from .findings import Finding, Severity

logger = logging.getLogger(__name__)

BOTH = frozenset(Connector.Kind)
THG = frozenset({Connector.Kind.THG})
TIKTOK = frozenset({Connector.Kind.TIKTOK_SHOP})


@dataclass(frozen=True)
class Check:
    """One check: its id, the symptom it explains, and the connector kinds it
    applies to."""

    id: str
    symptom: str
    function: Callable[[DoctorContext], list[Finding]]
    kinds: frozenset = BOTH


#: Every check, in the order they run and that docs/troubleshooting.md follows.
CHECKS = (
    Check(channel.ACTIVATION, channel.NOT_FLOWING, channel.check_activation),
    Check(channel.CREDENTIALS, channel.INVALID_CREDENTIALS, channel.check_credentials),
    Check(
        identifiers.UNMATCHED,
        "Orders not matching products",
        identifiers.check_unmatched_lines,
    ),
    Check(
        identifiers.AUDIT,
        "Mixed identifier approaches and duplicate identifiers",
        identifiers.check_identifier_audit,
    ),
    Check(
        identifiers.TIKTOK_CHANNEL_SKU,
        "A Channel SKU expected on a TikTok row",
        identifiers.check_tiktok_channel_sku,
        TIKTOK,
    ),
    Check(
        identifiers.PARENT_CHANNEL_SKU,
        "A Channel SKU missing on a parent product's row",
        identifiers.check_parent_channel_sku,
        THG,
    ),
    Check(stock.TOTALS, stock.TOTALS_WRONG, stock.check_inventory_totals),
    Check(stock.ALLOWLIST, stock.WRONG_PRODUCTS, stock.check_sku_allowlist),
    Check(orders.ORDER_WINDOW, orders.MISSING_RANGE, orders.check_order_window),
    Check(
        locations.THG_LOCATIONS,
        locations.THG_WRONG_LOCATION,
        locations.check_thg_locations,
        THG,
    ),
    Check(
        locations.TIKTOK_WAREHOUSES,
        locations.TIKTOK_WRONG_LOCATION,
        locations.check_tiktok_warehouses,
        TIKTOK,
    ),
    Check(orders.RETURNS, "Returns not flowing", orders.check_returns),
    Check(channel.TOKEN_EXPIRY, channel.TOKENS, channel.check_token_expiry, TIKTOK),
    Check(
        upkeep.STREAMS,
        "Streams with no successful run within twice their interval",
        upkeep.check_stream_freshness,
    ),
    Check(
        upkeep.SCHEDULES,
        "Schedules missing for enabled streams",
        upkeep.check_schedules,
    ),
    Check(
        orders.OLD_EXCEPTIONS,
        "Exceptions open for more than a day",
        orders.check_old_exceptions,
    ),
    Check(upkeep.OUTBOX, "Outbox items failing repeatedly", upkeep.check_outbox),
)


@dataclass
class Diagnosis:
    """The findings of one run of every check on one connector."""

    connector: Connector
    ran_at: datetime
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    @property
    def has_errors(self) -> bool:
        return self.count(Severity.ERROR) > 0


def diagnose(connector: Connector) -> Diagnosis:
    """Run every check that applies to the connector's kind; store nothing.

    A channel that cannot be reached is reported as a finding. A check that
    raises is logged and reported as an error finding, and the others still
    run. The THG handshake updates the connector's status, as the "Test
    connection" action does.
    """
    started = time.monotonic()
    context = DoctorContext(connector)
    diagnosis = Diagnosis(connector=connector, ran_at=context.now)
    logger.info("Connector %s: doctor started", connector.pk)
    try:
        for check in CHECKS:
            if connector.kind not in check.kinds:
                continue
            diagnosis.checks.append(check.id)
            diagnosis.findings.extend(_run_check(check, context))
    finally:
        context.close()
    diagnosis.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "Connector %s: doctor found %d errors, %d warnings, %d notes in %.1f s",
        connector.pk,
        diagnosis.count(Severity.ERROR),
        diagnosis.count(Severity.WARNING),
        diagnosis.count(Severity.INFO),
        diagnosis.seconds,
    )
    return diagnosis


def _run_check(check: Check, context: DoctorContext) -> list[Finding]:
    try:
        return list(check.function(context))
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the rest
        logger.exception(
            "Connector %s: doctor check %s failed", context.connector.pk, check.id
        )
        return [
            Finding(
                check=check.id,
                code="check_failed",
                severity=Severity.ERROR,
                title=check.symptom,
                message=f"The check itself failed with {exc.__class__.__name__}: "
                f"{redact(str(exc))}",
                next_step="Send the server log of this run to the developers; the "
                "other checks ran.",
            )
        ]


def save_report(diagnosis: Diagnosis, trigger: str) -> DoctorReport:
    """Store the diagnosis as the connector's last report, replacing the old one."""
    report, _ = DoctorReport.objects.update_or_create(
        connector=diagnosis.connector,
        defaults={
            "ran_at": diagnosis.ran_at,
            "trigger": trigger,
            "seconds": diagnosis.seconds,
            "error_count": diagnosis.count(Severity.ERROR),
            "warning_count": diagnosis.count(Severity.WARNING),
            "info_count": diagnosis.count(Severity.INFO),
            "checks": diagnosis.checks,
            "findings": [finding.as_dict() for finding in diagnosis.findings],
        },
    )
    return report


def run_doctor(connector: Connector, trigger: str) -> DoctorReport:
    """Diagnose the connector and store the result as its last report."""
    return save_report(diagnose(connector), trigger)


def latest_reports() -> list[DoctorReport]:
    """Return the last report of every connector that has one, by connector name.

    Each report carries its counts per severity, ``status`` ("error",
    "warning" or "ok") and ``headline`` (the first error's symptom, else the
    first warning's), which is what a dashboard shows.
    """
    return list(
        DoctorReport.objects.select_related("connector").order_by("connector__name")
    )
