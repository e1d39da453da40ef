"""Small builders for stock and order tests, shared with the routing tests."""

import itertools

from django.utils import timezone

from catalog.models import Product
from connectors.models import Connector
from inventory.models import ExternalLocation, Location, StockLevel
from orders.models import Order, OrderLine

_sequence = itertools.count(1)


def make_product(sku=None, **fields):
    sku = sku or f"SKU-{next(_sequence)}"
    return Product.objects.create(sku=sku, name=f"Product {sku}", **fields)


def make_location(code=None, **fields):
    code = code or f"loc-{next(_sequence)}"
    fields.setdefault("name", f"Location {code}")
    return Location.objects.create(code=code, **fields)


def make_connector(kind=Connector.Kind.THG, name=None, **fields):
    name = name or f"{kind} {next(_sequence)}"
    return Connector.objects.create(kind=kind, name=name, **fields)


def link(location, connector, *, counts_in_totals=True, external_id=None):
    return ExternalLocation.objects.create(
        location=location,
        connector=connector,
        external_id=external_id or f"ext-{location.code}",
        counts_in_totals=counts_in_totals,
    )


def put_stock(product, location, on_hand, committed=0):
    return StockLevel.objects.create(
        product=product, location=location, on_hand=on_hand, committed=committed
    )


def make_order(connector, lines, **fields):
    """Create an order with ``lines`` as [(product or None, quantity), ...]."""
    now = timezone.now()
    number = next(_sequence)
    fields.setdefault("placed_at", now)
    order = Order.objects.create(
        connector=connector,
        external_id=f"O-{number}",
        channel_status="AWAITING_SHIPMENT",
        channel_updated_at=now,
        **fields,
    )
    for index, (product, quantity) in enumerate(lines, start=1):
        OrderLine.objects.create(
            order=order,
            external_id=f"{number}-{index}",
            seller_sku=product.sku if product else "UNKNOWN",
            product=product,
            quantity=quantity,
        )
    return order


def level(product, location):
    return StockLevel.objects.get(product=product, location=location)
