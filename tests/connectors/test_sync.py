from datetime import timedelta

import pytest
from django.core.checks import Error
from django.test import override_settings
from django.utils import timezone

from connectors import sync
from connectors.checks import check_q_cluster_retry
from connectors.errors import AuthenticationError, NotActivatedError, RetryableError
from connectors.models import Connector, SyncRun, SyncState

pytestmark = pytest.mark.django_db


@pytest.fixture
def connector():
    return Connector.objects.create(
        kind=Connector.Kind.THG, name="THG sync", status=Connector.Status.CONNECTED
    )


@pytest.fixture
def stream(monkeypatch):
    """Replace the stream function with one whose behaviour a test sets."""
    behaviour = {"raise": None, "calls": 0}

    def function(context, **options):
        behaviour["calls"] += 1
        context.made_data_call = True
        context.count(fetched=3, created=2)
        if behaviour["raise"] is not None:
            raise behaviour["raise"]

    monkeypatch.setattr(
        "connectors.streams.stream_function", lambda connector, name: function
    )
    return behaviour


def test_successful_run_is_recorded(connector, stream):
    run = sync.run_stream(connector, "orders", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.fetched, run.created) == (3, 2)
    assert run.finished_at is not None
    state = SyncState.objects.get(connector=connector, stream="orders")
    assert state.last_success_at == run.finished_at
    assert state.lease_owner == ""
    assert state.lease_expires_at is None


def test_second_run_ends_at_once_while_lease_is_held(connector, stream):
    assert sync.acquire_lease(connector, "orders", "worker-a") is not None

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.SKIPPED
    assert "already running" in run.error
    assert stream["calls"] == 0


def test_lease_is_exclusive(connector):
    first = sync.acquire_lease(connector, "orders", "worker-a")
    second = sync.acquire_lease(connector, "orders", "worker-b")

    assert first.lease_owner == "worker-a"
    assert second is None


def test_expired_lease_is_taken_over(connector, stream):
    sync.acquire_lease(connector, "orders", "dead-worker")
    SyncState.objects.filter(connector=connector).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert stream["calls"] == 1


def test_retryable_failures_turn_connector_needs_attention(connector, stream):
    stream["raise"] = RetryableError("THG GET /orders answered 503")

    for _ in range(sync.ATTENTION_AFTER_FAILURES - 1):
        sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)
    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == "THG GET /orders answered 503"
    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_ATTENTION
    assert "3 orders runs failed in a row" in connector.status_detail


def test_success_clears_needs_attention(connector, stream):
    connector.set_status(Connector.Status.NEEDS_ATTENTION, "3 runs failed")
    SyncState.objects.create(
        connector=connector, stream="orders", consecutive_failures=3
    )

    sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED
    assert connector.status_detail == ""
    state = SyncState.objects.get(connector=connector, stream="orders")
    assert state.consecutive_failures == 0


def test_authentication_failure_needs_attention_at_once(connector, stream):
    stream["raise"] = AuthenticationError("THG refused client ID 'hub'")

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.FAILED
    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_ATTENTION
    assert connector.status_detail == "THG refused client ID 'hub'"


def test_not_activated_sets_awaiting_activation(connector, stream):
    stream["raise"] = NotActivatedError("THG has not activated the connection yet")

    sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    connector.refresh_from_db()
    assert connector.status == Connector.Status.AWAITING_ACTIVATION


def test_unexpected_error_fails_the_run_and_releases_lease(connector, stream):
    stream["raise"] = ZeroDivisionError("boom")

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == "boom"
    state = SyncState.objects.get(connector=connector, stream="orders")
    assert state.lease_expires_at is None


def test_run_error_has_no_secret(connector, stream):
    from connectors.logging import register_secret

    register_secret("tok-very-secret-123")
    stream["raise"] = RetryableError("call with token tok-very-secret-123 failed")

    run = sync.run_stream(connector, "orders", SyncRun.Trigger.SCHEDULE)

    assert "tok-very-secret-123" not in run.error
    assert "[redacted]" in run.error


@override_settings(Q_CLUSTER={"timeout": 600, "retry": 600})
def test_check_fails_when_retry_does_not_exceed_timeout():
    errors = check_q_cluster_retry(None)

    assert len(errors) == 1
    assert isinstance(errors[0], Error)
    assert errors[0].id == "connectors.E001"


def test_check_passes_with_project_settings():
    assert check_q_cluster_retry(None) == []
