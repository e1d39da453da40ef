"""The orders' date window, returns directions and old exceptions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.doctor import Severity
from connectors.models import Connector, Stream, SyncRun, SyncState
from connectors.sync import run_stream
from orders.models import Fulfillment, OrderException, Return
from tests.catalog import factories

from .conftest import by_code, offline_connector, offline_tiktok, run_check

# Orders missing from a date range.


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_start_date_beyond_history_limit_fails_the_pull(world):
    start = timezone.localdate() - timedelta(days=200)
    # The settings form rejects such a date; one set long ago ages into it.
    Connector.objects.filter(pk=world.connector.pk).update(orders_start_date=start)
    world.connector.refresh_from_db()
    run = run_stream(world.connector, "orders", SyncRun.Trigger.COMMAND)
    assert run.status == "failed"

    findings = by_code(run_check(world.connector, "order_window"))

    finding = findings["history_limit_exceeded"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence["orders_start_date"] == start
    assert finding.evidence["cursor"] is None
    assert finding.evidence["thg_history_days"] == 183
    assert "more than 183 days ago" in finding.evidence["last_error"]
    limit = timezone.now() - timedelta(days=183)
    assert f"Set the orders start date to {limit:%Y-%m-%d} or later" in (
        finding.next_step
    )
    assert "python manage.py backfill_orders 'THG Doctor' --since" in (
        finding.next_step
    )


@pytest.mark.django_db
def test_start_date_beyond_limit_before_first_pull():
    start = timezone.localdate() - timedelta(days=190)
    connector = offline_connector(orders_start_date=start)

    findings = by_code(run_check(connector, "order_window"))

    finding = findings["start_date_beyond_limit"]
    assert finding.severity == Severity.ERROR
    assert f"The orders start date {start} is more than 183 days back" in (
        finding.message
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_order_window_shows_cursor_and_start(world):
    order = world.order(("1", "5012345678900", 1))
    run_stream(world.connector, "orders", SyncRun.Trigger.COMMAND)
    state = SyncState.objects.get(connector=world.connector, stream=Stream.ORDERS)

    findings = by_code(run_check(world.connector, "order_window"))

    finding = findings["order_window"]
    assert finding.severity == Severity.INFO
    assert finding.evidence["cursor"] == state.cursor_time
    assert finding.evidence["next_pull_from"] == (
        state.cursor_time - timedelta(minutes=10)
    )
    assert finding.evidence["orders_start_date"] is None
    assert finding.evidence["orders_in_hub"] == 1
    assert finding.evidence["thg_history_days"] == 183
    assert "Orders are pulled by update time from the cursor" in finding.message
    assert finding.next_step.startswith(
        "To fetch a missing range, run the admin action 'Backfill orders…'"
    )
    assert order.order_id


@pytest.mark.django_db
def test_orders_off_is_a_warning():
    connector = offline_connector(orders_enabled=False)

    findings = by_code(run_check(connector, "order_window"))

    assert findings["orders_off"].severity == Severity.WARNING
    assert findings["order_window"].severity == Severity.INFO


# Returns not flowing.


@pytest.mark.django_db
def test_thg_returns_out_off_is_named():
    connector = offline_connector(returns_direction=Connector.ReturnsDirection.INBOUND)
    order = factories.order(connector)
    Return.objects.create(
        order=order, direction="outbound", delivery=Fulfillment.Delivery.NOT_SENT
    )

    findings = by_code(run_check(connector, "returns"))

    finding = findings["returns_direction_off"]
    assert finding.severity == Severity.WARNING
    assert finding.evidence == {
        "returns_direction": "in",
        "off": ["out"],
        "returns_not_sent": 1,
    }
    assert "returns and receipts recorded in the hub are not sent" in finding.message


@pytest.mark.django_db
def test_returns_off_names_both_directions():
    connector = offline_connector(returns_direction=Connector.ReturnsDirection.OFF)

    finding = by_code(run_check(connector, "returns"))["returns_direction_off"]

    assert finding.evidence["off"] == ["in", "out"]


@pytest.mark.django_db
def test_tiktok_returns_out_only_means_nothing_flows():
    connector = offline_tiktok(returns_direction=Connector.ReturnsDirection.OUTBOUND)

    finding = by_code(run_check(connector, "returns"))["returns_direction_off"]

    assert finding.evidence["off"] == ["in"]


@pytest.mark.django_db
def test_returns_both_gives_nothing():
    connector = offline_connector()

    assert run_check(connector, "returns") == []


# Exceptions open for more than a day.


@pytest.mark.django_db
def test_exception_open_over_a_day_is_a_warning():
    connector = offline_connector()
    old = factories.order(connector, "O-OLD", days_ago=3)
    factories.unmatched_line(old, upc="5000000000017")
    OrderException.objects.filter(order=old).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    fresh = factories.order(connector, "O-NEW")
    factories.unmatched_line(fresh, upc="5000000000024")

    findings = by_code(run_check(connector, "old_exceptions"))

    finding = findings["exceptions_open"]
    assert finding.severity == Severity.WARNING
    assert finding.evidence["count"] == 1
    assert finding.evidence["by_kind"] == {"unmatched_line": 1}
    assert finding.evidence["examples"][0]["order"] == "O-OLD"
    assert finding.evidence["examples"][0]["identifier"] == "5000000000017"
    assert finding.next_step.startswith("Line matches no product: fix the identifiers")


@pytest.mark.django_db
def test_resolved_exception_gives_nothing():
    connector = offline_connector()
    order = factories.order(connector, days_ago=3)
    factories.unmatched_line(order, upc="5000000000017")
    OrderException.objects.filter(order=order).update(
        created_at=timezone.now() - timedelta(days=2), resolved_at=timezone.now()
    )

    assert run_check(connector, "old_exceptions") == []
