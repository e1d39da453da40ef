"""A connector with nothing wrong: no errors and no warnings."""

import pytest

from connectors.doctor import Severity, diagnose

from .conftest import make_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _problems(diagnosis):
    return [
        (finding.code, finding.message)
        for finding in diagnosis.findings
        if finding.severity != Severity.INFO
    ]


def test_healthy_thg_connector_has_no_errors_or_warnings(healthy_world):
    diagnosis = diagnose(healthy_world.connector)

    assert _problems(diagnosis) == []
    assert [finding.code for finding in diagnosis.findings] == [
        "thg_no_events",
        "counted_locations",
        "order_window",
    ]
    assert diagnosis.checks == [
        "activation",
        "credentials",
        "unmatched_lines",
        "identifier_audit",
        "parent_channel_sku",
        "inventory_totals",
        "sku_allowlist",
        "order_window",
        "thg_locations",
        "returns",
        "stream_freshness",
        "schedules",
        "old_exceptions",
        "outbox",
    ]


def test_healthy_tiktok_connector_has_no_errors_or_warnings(tiktok_world):
    make_healthy(tiktok_world.connector)

    diagnosis = diagnose(tiktok_world.connector)

    assert _problems(diagnosis) == []
    assert [finding.code for finding in diagnosis.findings] == [
        "counted_locations",
        "order_window",
    ]
    assert diagnosis.checks == [
        "activation",
        "credentials",
        "unmatched_lines",
        "identifier_audit",
        "tiktok_channel_sku",
        "inventory_totals",
        "sku_allowlist",
        "order_window",
        "tiktok_warehouses",
        "returns",
        "token_expiry",
        "stream_freshness",
        "schedules",
        "old_exceptions",
        "outbox",
    ]
