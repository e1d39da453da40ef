"""The whole THG cycle against the THG sandbox over real HTTP.

Orders come in, are matched by UPC through the THG Channel SKU, routed to
the first location with stock for every line, fulfilled from the admin's
service, and the dispatch and the new stock totals land in the sandbox.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog import gtin
from catalog.models import ChannelListing, Product
from connectors.models import Connector, SyncRun
from connectors.thg.sandbox import services as sandbox
from connectors.thg.sandbox.generator import GeneratedLine
from connectors.thg.sandbox.models import (
    SandboxDispatch,
    SandboxListing,
    SandboxOrder,
    SandboxStockUpdate,
)
from connectors.thg.sandbox.orders import create_order
from inventory import stock
from inventory.models import ExternalLocation, Location, StockLevel, StockMovement
from orders.fulfillment import ShipmentDetails, create_fulfillment
from orders.models import Order, OrderException

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BLUE = "5012345678900"
RED = "5012345678917"
TEE = "5012345678924"
UNKNOWN = "5099999999995"
BUYER = {"name": "A. Buyer", "email": "buyer@example.test"}
ADDRESS = {
    "name": "A. Buyer",
    "line1": "1 High Street",
    "line2": "",
    "city": "Leeds",
    "county": "West Yorkshire",
    "postcode": "LS1 4AP",
    "country_code": "GB",
}


def line(line_id, upc, quantity, title="Item"):
    return GeneratedLine(
        line_id=line_id,
        upc=upc,
        sku="",
        title=title,
        quantity=quantity,
        unit_price=Decimal("9.99"),
    )


@pytest.fixture
def world(live_server):
    base = f"{live_server.url}/sandbox/thg"
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="THG E2E",
        status=Connector.Status.CONNECTED,
        identifier_strategy=Connector.IdentifierStrategy.CHANNEL_SKU,
        thg_realm="e2e",
        thg_client_id="hub",
        thg_client_secret="e2e-secret-value",
        thg_locations="Leeds:WH-LEEDS-01\nManchester:WH-MCR-02",
        api_url=base,
        auth_url=base,
    )
    products = {}
    for sku, upc in [("MUG-BLUE", BLUE), ("MUG-RED", RED), ("TEE", TEE)]:
        product = Product.objects.create(sku=sku, name=sku, upc=gtin.normalize(upc))
        ChannelListing.objects.create(
            product=product, connector=connector, channel_sku=gtin.normalize(upc)
        )
        products[sku] = product
    leeds = Location.objects.create(name="Leeds", code="leeds", priority=1)
    manchester = Location.objects.create(name="Manchester", code="mcr", priority=2)
    for location, external_id in [(leeds, "WH-LEEDS-01"), (manchester, "WH-MCR-02")]:
        ExternalLocation.objects.create(
            connector=connector, location=location, external_id=external_id
        )
    for sku, at_leeds, at_manchester in [
        ("MUG-BLUE", 1, 10),
        ("MUG-RED", 5, 0),
        ("TEE", 0, 4),
    ]:
        for location, quantity in [(leeds, at_leeds), (manchester, at_manchester)]:
            stock.set_on_hand(
                products[sku], location, quantity, reason=StockMovement.Reason.IMPORT
            )

    account = sandbox.ensure_account("e2e", "hub", "e2e-secret-value", active=True)
    sandbox.set_warehouses(
        account, [("WH-LEEDS-01", "Leeds"), ("WH-MCR-02", "Manchester")]
    )
    sandbox.add_listings(account, [(BLUE, "Blue mug"), (RED, "Red mug"), (TEE, "Tee")])
    placed = {
        "blue": create_order(
            account, customer=BUYER, address=ADDRESS, lines=[line("1", BLUE, 2)]
        ),
        "red": create_order(
            account, customer=BUYER, address=ADDRESS, lines=[line("1", RED, 3)]
        ),
        "unknown": create_order(
            account,
            customer=BUYER,
            address=ADDRESS,
            lines=[line("1", BLUE, 1), line("2", UNKNOWN, 1)],
        ),
        "tee": create_order(
            account, customer=BUYER, address=ADDRESS, lines=[line("1", TEE, 5)]
        ),
    }
    return {
        "connector": connector,
        "account": account,
        "products": products,
        "leeds": leeds,
        "manchester": manchester,
        "placed": {key: order.order_id for key, order in placed.items()},
    }


def level(product, location):
    return StockLevel.objects.get(product=product, location=location)


def test_full_cycle(world, capsys):
    placed = world["placed"]
    blue, red = world["products"]["MUG-BLUE"], world["products"]["MUG-RED"]
    leeds, manchester = world["leeds"], world["manchester"]

    call_command("sync", "THG E2E")

    output = capsys.readouterr().out
    assert "orders" in output
    assert "6 streams ran" in output
    orders = {order.external_id: order for order in Order.objects.all()}
    assert set(orders) == set(placed.values())
    blue_order = orders[placed["blue"]]
    assert blue_order.status == Order.Status.ROUTED
    assert blue_order.location == manchester
    assert [(ln.upc, ln.quantity, ln.product) for ln in blue_order.lines.all()] == [
        (BLUE, 2, blue)
    ]
    red_order = orders[placed["red"]]
    assert red_order.status == Order.Status.ROUTED
    assert red_order.location == leeds
    unknown_order = orders[placed["unknown"]]
    assert unknown_order.status == Order.Status.NEEDS_ATTENTION
    assert unknown_order.location is None
    unmatched = OrderException.objects.get(order=unknown_order, resolved_at=None)
    assert unmatched.kind == OrderException.Kind.UNMATCHED_LINE
    assert unmatched.identifier == gtin.normalize(UNKNOWN)
    tee_order = orders[placed["tee"]]
    assert tee_order.status == Order.Status.NEEDS_ATTENTION
    assert OrderException.objects.filter(
        order=tee_order, kind=OrderException.Kind.NO_STOCK, resolved_at=None
    ).exists()

    assert (level(blue, manchester).on_hand, level(blue, manchester).committed) == (
        10,
        2,
    )
    assert (level(blue, leeds).on_hand, level(blue, leeds).committed) == (1, 0)
    assert (level(red, leeds).on_hand, level(red, leeds).committed) == (5, 3)

    sandbox_orders = SandboxOrder.objects.filter(account=world["account"])
    assert all(order.acknowledged_at is not None for order in sandbox_orders)
    assert {order.status for order in sandbox_orders} == {"ACKNOWLEDGED"}
    pushed = {
        listing.upc: listing.last_quantity
        for listing in SandboxListing.objects.filter(account=world["account"])
    }
    assert pushed == {BLUE: 9, RED: 2, TEE: 4}

    fulfillment = create_fulfillment(
        red_order,
        leeds,
        ShipmentDetails(carrier="Royal Mail", tracking_number="RM123456789GB"),
        {red_order.lines.get().pk: 3},
    )
    updates_before = SandboxStockUpdate.objects.count()
    call_command("sync", "THG E2E")

    dispatch = SandboxDispatch.objects.get()
    assert dispatch.dispatch_reference == fulfillment.reference
    assert dispatch.order.order_id == placed["red"]
    assert dispatch.request["lines"] == [{"line_id": "1", "quantity": 3}]
    assert dispatch.request["warehouse_id"] == "WH-LEEDS-01"
    assert SandboxOrder.objects.get(order_id=placed["red"]).status == "DISPATCHED"
    fulfillment.refresh_from_db()
    assert fulfillment.delivery == "sent"
    red_order.refresh_from_db()
    assert red_order.status == Order.Status.FULFILLED
    assert (level(red, leeds).on_hand, level(red, leeds).committed) == (2, 0)
    # The total for RED did not change (2 before and after), so nothing new
    # was pushed.
    assert SandboxStockUpdate.objects.count() == updates_before
    assert not SyncRun.objects.filter(status=SyncRun.Status.FAILED).exists()


def test_repeated_sync_changes_nothing(world):
    call_command("sync", "THG E2E")
    # The acknowledgements moved each order's update time on THG, so the
    # next pull updates all four; after that there is nothing new.
    call_command("sync", "THG E2E")
    snapshot = sorted(Order.objects.values_list("external_id", "status", "location"))

    call_command("sync", "THG E2E")

    assert sorted(Order.objects.values_list("external_id", "status", "location")) == (
        snapshot
    )
    run = SyncRun.objects.filter(stream="orders").order_by("-pk").first()
    assert (run.created, run.updated) == (0, 0)
    assert run.unchanged == 4
