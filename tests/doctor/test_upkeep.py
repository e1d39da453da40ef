"""Stream runs, schedules and the outbox."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from connectors.doctor import Severity
from connectors.models import Connector, OutboxMessage, Stream, SyncState
from connectors.schedules import sync_schedules

from .conftest import by_code, offline_connector, run_check

pytestmark = pytest.mark.django_db


def _age(connector, days: int) -> None:
    Connector.objects.filter(pk=connector.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )
    connector.refresh_from_db()


def _succeed_all(connector, at) -> None:
    for stream in ("locations", "orders", "routing", "fulfillments", "returns"):
        SyncState.objects.create(connector=connector, stream=stream, last_success_at=at)


# Streams with no successful run within twice their interval.


def test_stale_stream_with_failures_is_an_error():
    connector = offline_connector()
    _age(connector, 2)
    now = timezone.now()
    _succeed_all(connector, now)
    SyncState.objects.create(
        connector=connector,
        stream=Stream.INVENTORY,
        last_success_at=now - timedelta(minutes=31),
        last_failure_at=now - timedelta(minutes=1),
        consecutive_failures=3,
        last_error="THG PUT /stock answered 503 InternalError",
    )

    findings = run_check(connector, "stream_freshness", now=now)

    assert [(f.code, f.severity) for f in findings] == [
        ("stream_stale", Severity.ERROR)
    ]
    finding = findings[0]
    assert finding.evidence["stream"] == "inventory"
    assert finding.evidence["interval_minutes"] == 15
    assert finding.evidence["consecutive_failures"] == 3
    assert finding.evidence["last_error"] == "THG PUT /stock answered 503 InternalError"
    assert "3 runs in a row failed" in finding.message
    assert finding.next_step.startswith("Fix the cause named in the last error")


def test_stream_that_never_ran_is_a_warning():
    connector = offline_connector()
    _age(connector, 1)
    now = timezone.now()
    _succeed_all(connector, now)

    findings = run_check(connector, "stream_freshness", now=now)

    assert [(f.code, f.severity, f.evidence["stream"]) for f in findings] == [
        ("stream_stale", Severity.WARNING, "inventory")
    ]
    assert "has never succeeded" in findings[0].message
    assert "python manage.py qcluster" in findings[0].next_step


def test_new_connector_is_not_stale_yet():
    connector = offline_connector()

    assert run_check(connector, "stream_freshness") == []


def test_stream_within_twice_its_interval_is_fine():
    connector = offline_connector()
    _age(connector, 2)
    now = timezone.now()
    _succeed_all(connector, now)
    SyncState.objects.create(
        connector=connector,
        stream=Stream.INVENTORY,
        last_success_at=now - timedelta(minutes=29),
    )

    assert run_check(connector, "stream_freshness", now=now) == []


def test_paused_connector_runs_no_streams():
    connector = offline_connector(status=Connector.Status.PAUSED)

    findings = by_code(run_check(connector, "stream_freshness"))

    assert findings["streams_not_scheduled"].severity == Severity.INFO


# Schedules missing for enabled streams.


def test_missing_schedules_are_an_error():
    connector = offline_connector()

    finding = by_code(run_check(connector, "schedules"))["schedule_missing"]

    assert finding.severity == Severity.ERROR
    pk = connector.pk
    assert finding.evidence == {
        "missing": [
            f"sync:{pk}:fulfillments",
            f"sync:{pk}:inventory",
            f"sync:{pk}:locations",
            f"sync:{pk}:orders",
            f"sync:{pk}:returns",
            f"sync:{pk}:routing",
        ]
    }
    assert finding.next_step.startswith("Save the connector in the admin")


def test_synced_schedules_give_nothing():
    connector = offline_connector()
    sync_schedules(connector)

    assert run_check(connector, "schedules") == []


def test_schedule_mismatch_is_a_warning():
    connector = offline_connector()
    sync_schedules(connector)
    Schedule.objects.filter(name=f"sync:{connector.pk}:orders").update(minutes=60)
    connector.inventory_enabled = False
    connector.save()

    finding = by_code(run_check(connector, "schedules"))["schedule_mismatch"]

    assert finding.severity == Severity.WARNING
    assert finding.evidence == {
        "mismatched": [
            {
                "name": f"sync:{connector.pk}:orders",
                "minutes": 60,
                "expected_minutes": 5,
                "repeats": -1,
            }
        ],
        "switched_off": [f"sync:{connector.pk}:inventory"],
    }


# Outbox items failing repeatedly.


def test_failed_and_retrying_outbox_messages():
    connector = offline_connector()
    OutboxMessage.objects.create(
        connector=connector,
        kind=OutboxMessage.Kind.DISPATCH,
        reference="F1",
        status=OutboxMessage.Status.FAILED,
        attempts=1,
        last_error="THG POST /orders/1/dispatches: more than the open quantity",
    )
    OutboxMessage.objects.create(
        connector=connector,
        kind=OutboxMessage.Kind.ACKNOWLEDGEMENT,
        reference="100245871",
        attempts=4,
        last_error="THG POST /orders/100245871/acknowledgement answered 503",
    )
    OutboxMessage.objects.create(
        connector=connector,
        kind=OutboxMessage.Kind.ACKNOWLEDGEMENT,
        reference="100245872",
        attempts=1,
    )

    findings = by_code(run_check(connector, "outbox"))

    failed = findings["outbox_failed"]
    assert failed.severity == Severity.ERROR
    assert failed.evidence["count"] == 1
    assert failed.evidence["by_kind"] == {"dispatch": 1}
    assert failed.evidence["examples"][0]["reference"] == "F1"
    retrying = findings["outbox_retrying"]
    assert retrying.severity == Severity.WARNING
    assert retrying.evidence["count"] == 1
    assert retrying.evidence["examples"][0]["attempts"] == 4
    assert "'Retry now'" in retrying.next_step


def test_delivered_outbox_gives_nothing():
    connector = offline_connector()
    OutboxMessage.objects.create(
        connector=connector,
        kind=OutboxMessage.Kind.DISPATCH,
        reference="F1",
        status=OutboxMessage.Status.DELIVERED,
        attempts=5,
    )

    assert run_check(connector, "outbox") == []
