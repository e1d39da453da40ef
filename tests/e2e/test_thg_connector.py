"""THG connector behaviours, each against the THG sandbox over real HTTP."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from connectors.models import Connector, OutboxMessage, Stream, SyncRun, SyncState
from connectors.sync import run_stream
from connectors.thg.connection import Case, check_connection
from connectors.thg.sandbox import services as sandbox
from connectors.thg.sandbox.models import (
    SandboxDispatch,
    SandboxListing,
    SandboxOrder,
    SandboxReturn,
    SandboxStockUpdate,
)
from inventory.models import InventorySnapshot
from orders.fulfillment import FulfillmentError, ShipmentDetails, create_fulfillment
from orders.models import Order, OrderException, Return
from orders.returns import ReturnError, create_return, record_receipt

from .thg_world import BLUE, PASSWORD, RED, TEE, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(live_server):
    return build_world(live_server.url)


def sync(world, *streams, **options):
    runs = [
        run_stream(world.connector, stream, SyncRun.Trigger.COMMAND, **options)
        for stream in streams
    ]
    world.connector.refresh_from_db()
    return runs[-1]


# The handshake.


def test_connection_unknown_realm(world):
    world.connector.thg_realm = "no-such-realm"
    world.connector.save()

    result = check_connection(world.connector)

    assert result.case == Case.REALM_NOT_FOUND
    assert "'no-such-realm' does not exist" in result.message


def test_connection_wrong_secret(world):
    world.connector.thg_client_secret = "wrong-secret"
    world.connector.save()

    result = check_connection(world.connector)

    assert result.case == Case.INVALID_CLIENT
    world.connector.refresh_from_db()
    assert world.connector.status == Connector.Status.NEEDS_ATTENTION


def test_connection_not_activated(world):
    sandbox.deactivate(world.account)

    result = check_connection(world.connector)

    assert result.case == Case.NOT_ACTIVATED
    world.connector.refresh_from_db()
    assert world.connector.status == Connector.Status.AWAITING_ACTIVATION


def test_connection_connected(world):
    result = check_connection(world.connector)

    assert result.case == Case.CONNECTED
    world.connector.refresh_from_db()
    assert world.connector.status == Connector.Status.CONNECTED


def test_check_connection_command_exits_non_zero_until_activated(world, capsys):
    sandbox.deactivate(world.account)

    with pytest.raises(CommandError, match="not_activated"):
        call_command("check_connection", "THG E2E")

    sandbox.activate(world.account)
    call_command("check_connection", "THG E2E")
    assert "Connected" in capsys.readouterr().out


def test_sandbox_activation_event_connects_the_connector(world):
    sandbox.deactivate(world.account)
    world.connector.set_status(Connector.Status.AWAITING_ACTIVATION)
    sandbox.register_hub(world.account, world.events_url(), "thg-e2e", PASSWORD)

    deliveries = sandbox.activate(world.account)

    assert [d.status_code for d in deliveries] == [202]
    world.connector.refresh_from_db()
    assert world.connector.status == Connector.Status.CONNECTED


def test_sandbox_events_with_wrong_password_are_refused(world):
    from connectors.thg.sandbox.events import build_order_event, send_events

    sandbox.register_hub(world.account, world.events_url(), "thg-e2e", "wrong")
    order = world.order(("1", BLUE, 1))

    deliveries = send_events(world.account, [build_order_event(order, "order.created")])

    assert {d.status_code for d in deliveries} == {401}
    assert not Order.objects.filter(external_id=order.order_id).exists()


# Events, duplicated and out of order.


def test_duplicated_shuffled_events_end_in_latest_state(world):
    from connectors.thg.sandbox.events import build_order_event, send_events

    sandbox.register_hub(world.account, world.events_url(), "thg-e2e", PASSWORD)
    order = world.order(("1", RED, 2))
    created = build_order_event(order, "order.created")
    cancelled = build_order_event(
        sandbox.cancel_order(world.account, order.order_id), "order.cancelled"
    )

    # THG delivers each event twice, the newest first.
    send_events(world.account, [cancelled, created], duplicate=True)

    hub_order = Order.objects.get(external_id=order.order_id)
    assert hub_order.channel_status == "CANCELLED"
    assert hub_order.status == Order.Status.CANCELLED
    assert world.level("MUG-RED", world.leeds).committed == 0
    assert Order.objects.filter(external_id=order.order_id).count() == 1


# Orders and backfill.


def test_first_pull_takes_the_last_seven_days(world):
    old = world.order(("1", BLUE, 1), created_at=timezone.now() - timedelta(days=9))
    recent = world.order(("1", BLUE, 1))

    sync(world, Stream.ORDERS)

    assert set(Order.objects.values_list("external_id", flat=True)) == {recent.order_id}
    assert not Order.objects.filter(external_id=old.order_id).exists()


def test_backfill_command_reaches_older_orders(world, capsys):
    old = world.order(("1", BLUE, 1), created_at=timezone.now() - timedelta(days=30))
    since = (timezone.localdate() - timedelta(days=40)).isoformat()

    call_command("backfill_orders", "THG E2E", "--since", since)

    assert Order.objects.filter(external_id=old.order_id).exists()
    assert "backfill done: 1 orders fetched, 1 created" in capsys.readouterr().out


def test_backfill_rejects_more_than_six_months(world):
    since = (timezone.localdate() - timedelta(days=200)).isoformat()

    with pytest.raises(CommandError, match="6 months"):
        call_command("backfill_orders", "THG E2E", "--since", since)

    assert not SyncRun.objects.filter(stream=Stream.BACKFILL).exists()


def test_interrupted_backfill_resumes_at_its_page(world, monkeypatch):
    start = timezone.now() - timedelta(days=20)
    placed = [world.order(("1", BLUE, 1), created_at=start) for _ in range(3)]
    monkeypatch.setattr("connectors.thg.client.THGClient.page_limit", 2)

    def stop_after_first_page(run):
        raise RuntimeError("worker killed")

    first = sync(
        world,
        Stream.BACKFILL,
        since=start - timedelta(days=1),
        on_page=stop_after_first_page,
    )
    state = SyncState.objects.get(connector=world.connector, stream=Stream.BACKFILL)
    second = sync(world, Stream.BACKFILL, since=start - timedelta(days=1))

    assert first.status == SyncRun.Status.FAILED
    assert first.fetched == 2
    assert "after" in state.cursor
    assert second.status == SyncRun.Status.SUCCEEDED
    assert second.fetched == 1
    assert Order.objects.count() == len(placed)


def test_orders_are_acknowledged_after_commit(world):
    order = world.order(("1", BLUE, 1))

    sync(world, Stream.ORDERS)

    assert SandboxOrder.objects.get(order_id=order.order_id).status == "ACKNOWLEDGED"
    assert Order.objects.get(external_id=order.order_id).acknowledged_at is not None


def test_cancelled_line_releases_its_stock(world):
    order = world.order(("1", BLUE, 2), ("2", TEE, 1))
    sync(world, Stream.ORDERS)
    hub_order = Order.objects.get(external_id=order.order_id)
    assert hub_order.location == world.manchester
    assert world.level("MUG-BLUE", world.manchester).committed == 2

    sandbox.cancel_line(world.account, order.order_id, "1")
    sync(world, Stream.ORDERS)

    assert world.level("MUG-BLUE", world.manchester).committed == 0
    assert world.level("TEE", world.manchester).committed == 1
    assert hub_order.lines.get(external_id="1").status == "cancelled"


# Fulfillments.


def test_dispatch_over_open_quantity_is_refused_before_sending(world):
    order = world.order(("1", BLUE, 2))
    sync(world, Stream.ORDERS)
    hub_order = Order.objects.get(external_id=order.order_id)

    with pytest.raises(FulfillmentError, match="3 requested but only 2 still open"):
        create_fulfillment(
            hub_order,
            hub_order.location,
            ShipmentDetails(carrier="DPD", tracking_number="T1"),
            {hub_order.lines.get().pk: 3},
        )

    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.DISPATCH).exists()
    assert SandboxDispatch.objects.count() == 0


def test_partial_dispatches_send_each_part_once(world):
    order = world.order(("1", BLUE, 3))
    sync(world, Stream.ORDERS)
    hub_order = Order.objects.get(external_id=order.order_id)
    line = hub_order.lines.get()
    details = ShipmentDetails(carrier="DPD", tracking_number="T1")

    create_fulfillment(hub_order, hub_order.location, details, {line.pk: 1})
    create_fulfillment(
        hub_order,
        hub_order.location,
        ShipmentDetails(carrier="DPD", tracking_number="T2"),
        {line.pk: 2},
    )
    sync(world, Stream.FULFILLMENTS)
    sync(world, Stream.FULFILLMENTS)

    dispatches = SandboxDispatch.objects.order_by("pk")
    assert [d.request["lines"] for d in dispatches] == [
        [{"line_id": "1", "quantity": 1}],
        [{"line_id": "1", "quantity": 2}],
    ]
    assert [d.request["tracking_number"] for d in dispatches] == ["T1", "T2"]
    assert SandboxOrder.objects.get(order_id=order.order_id).status == "DISPATCHED"
    hub_order.refresh_from_db()
    assert hub_order.status == Order.Status.FULFILLED


def test_rejected_dispatch_becomes_an_order_exception(world):
    order = world.order(("1", BLUE, 2))
    sync(world, Stream.ORDERS)
    hub_order = Order.objects.get(external_id=order.order_id)
    # THG cancelled the order meanwhile, so it refuses the dispatch.
    sandbox.cancel_order(world.account, order.order_id)
    fulfillment = create_fulfillment(
        hub_order,
        hub_order.location,
        ShipmentDetails(carrier="DPD", tracking_number="T9"),
        {hub_order.lines.get().pk: 2},
    )

    sync(world, Stream.FULFILLMENTS)

    fulfillment.refresh_from_db()
    assert fulfillment.delivery == "rejected"
    exception = OrderException.objects.get(
        order=hub_order, kind=OrderException.Kind.CHANNEL_REJECTED
    )
    assert fulfillment.reference in exception.message
    assert fulfillment.channel_error in exception.message
    message = OutboxMessage.objects.get(reference=fulfillment.reference)
    assert message.status == OutboxMessage.Status.FAILED


# Returns, both directions.


def _ship(world, upc, quantity):
    order = world.order(("1", upc, quantity))
    sync(world, Stream.ORDERS)
    hub_order = Order.objects.get(external_id=order.order_id)
    create_fulfillment(
        hub_order,
        hub_order.location,
        ShipmentDetails(carrier="DPD", tracking_number="T1"),
        {hub_order.lines.get().pk: quantity},
    )
    sync(world, Stream.FULFILLMENTS)
    hub_order.refresh_from_db()
    return order, hub_order


def test_inbound_return_is_pulled_with_status(world):
    order, hub_order = _ship(world, BLUE, 2)
    sandbox.create_return(world.account, order.order_id, [("1", 1)])

    run = sync(world, Stream.RETURNS)

    assert run.created == 1
    hub_return = Return.objects.get(order=hub_order)
    assert hub_return.direction == Return.Direction.INBOUND
    assert hub_return.channel_status == "REQUESTED"
    assert [
        (line.line.external_id, line.quantity) for line in hub_return.lines.all()
    ] == [("1", 1)]


def test_outbound_return_and_receipt_restock_good_only(world):
    order, hub_order = _ship(world, BLUE, 3)
    location = hub_order.location
    on_hand_before = world.level("MUG-BLUE", location).on_hand
    line = hub_order.lines.get()

    hub_return = create_return(hub_order, {line.pk: 3}, reason="Faulty")
    sync(world, Stream.FULFILLMENTS)
    hub_return.refresh_from_db()
    return_line = hub_return.lines.get()
    restocked = record_receipt(
        hub_return,
        location,
        [(return_line.pk, 2, "GOOD"), (return_line.pk, 1, "DAMAGED")],
    )
    sync(world, Stream.FULFILLMENTS)
    sync(world, Stream.FULFILLMENTS)

    assert restocked == 2
    assert world.level("MUG-BLUE", location).on_hand == on_hand_before + 2
    sandbox_return = SandboxReturn.objects.get(return_reference=hub_return.reference)
    assert hub_return.external_id == sandbox_return.return_id
    assert sandbox_return.status == "RECEIVED"
    assert sandbox_return.receipt_reference == hub_return.reference
    receipts = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.RETURN_RECEIPT)
    assert [m.status for m in receipts] == ["delivered"]


def test_second_receipt_is_refused(world):
    order, hub_order = _ship(world, BLUE, 1)
    hub_return = create_return(hub_order, {hub_order.lines.get().pk: 1})
    return_line = hub_return.lines.get()
    record_receipt(hub_return, hub_order.location, [(return_line.pk, 1, "GOOD")])

    with pytest.raises(ReturnError, match="already received"):
        record_receipt(hub_return, hub_order.location, [(return_line.pk, 1, "GOOD")])

    # Leeds held the one unit: shipped, then restocked once.
    assert hub_order.location == world.leeds
    assert world.level("MUG-BLUE", world.leeds).on_hand == 1


def test_returns_out_switched_off_sends_nothing(world):
    order, hub_order = _ship(world, BLUE, 1)
    world.connector.returns_direction = Connector.ReturnsDirection.INBOUND
    world.connector.save()
    hub_order.refresh_from_db()

    create_return(hub_order, {hub_order.lines.get().pk: 1})
    sync(world, Stream.FULFILLMENTS)

    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.RETURN).exists()
    assert not SandboxReturn.objects.exists()


def test_returns_in_switched_off_pulls_nothing(world):
    order, hub_order = _ship(world, BLUE, 1)
    sandbox.create_return(world.account, order.order_id, [("1", 1)])
    world.connector.returns_direction = Connector.ReturnsDirection.OUTBOUND
    world.connector.save()

    sync(world, Stream.RETURNS)

    assert not Return.objects.exists()


# Inventory.


def pushed(world):
    return {
        listing.upc: listing.last_quantity
        for listing in SandboxListing.objects.filter(account=world.account)
    }


def test_normal_push_sends_only_changed_items(world):
    from inventory import stock
    from inventory.models import StockMovement

    sync(world, Stream.INVENTORY)
    first = SandboxStockUpdate.objects.count()
    stock.adjust(
        world.products["TEE"],
        world.leeds,
        on_hand_change=3,
        reason=StockMovement.Reason.ADJUSTMENT,
    )

    sync(world, Stream.INVENTORY)

    update = SandboxStockUpdate.objects.order_by("-pk").first()
    assert SandboxStockUpdate.objects.count() == first + 1
    assert update.items == [{"upc": TEE, "quantity": 7}]


def test_force_resync_sends_every_item(world, capsys):
    sync(world, Stream.INVENTORY)

    call_command("force_inventory_resync", "THG E2E")

    update = SandboxStockUpdate.objects.order_by("-pk").first()
    assert sorted(item["upc"] for item in update.items) == sorted([BLUE, RED, TEE])
    assert "3 items sent, 3 accepted, 0 rejected" in capsys.readouterr().out


def test_allowlist_limits_the_push(world):
    world.connector.inventory_sku_allowlist = "MUG-RED\n"
    world.connector.save()

    sync(world, Stream.INVENTORY)

    assert pushed(world) == {BLUE: None, RED: 5, TEE: None}


def test_rejected_item_is_recorded_and_retried_alone(world):
    from catalog.models import ChannelListing

    listing = ChannelListing.objects.get(product=world.products["TEE"])
    listing.channel_sku = "05099999999995"
    listing.save()

    first = sync(world, Stream.INVENTORY)
    second = sync(world, Stream.INVENTORY)

    assert (first.updated, first.failed) == (2, 1)
    snapshot = InventorySnapshot.objects.get(product=world.products["TEE"])
    assert snapshot.accepted_quantity is None
    assert snapshot.last_error.startswith("UnknownProduct")
    last = SandboxStockUpdate.objects.order_by("-pk").first()
    assert last.items == [{"upc": "5099999999995", "quantity": 4}]
    assert (second.fetched, second.failed) == (1, 1)


def test_quantities_are_clamped_to_thg_range(world):
    from inventory import stock
    from inventory.models import StockMovement

    stock.adjust(
        world.products["MUG-BLUE"],
        world.leeds,
        on_hand_change=150000,
        reason=StockMovement.Reason.ADJUSTMENT,
    )

    sync(world, Stream.INVENTORY)

    assert pushed(world)[BLUE] == 99999


# Locations.


def test_locations_warn_about_ids_thg_does_not_list(world):
    world.connector.thg_locations = "Leeds:WH-LEEDS-01\nBristol:WH-BRS-09"
    world.connector.save()

    run = sync(world, Stream.LOCATIONS)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert "WH-BRS-09" in run.error
    assert world.connector.external_locations.get(
        external_id="WH-BRS-09"
    ).location.name == ("Bristol")
    assert (
        world.connector.external_locations.get(
            external_id="WH-BRS-09"
        ).listed_by_channel
        is False
    )
