import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import availability, stock
from inventory.models import InventoryChange, InventorySnapshot, StockMovement

from .factories import (
    level,
    link,
    make_connector,
    make_location,
    make_product,
    put_stock,
)

pytestmark = pytest.mark.django_db


def test_available_subtracts_location_safety_stock():
    product = make_product()
    location = make_location(safety_stock=2)
    put_stock(product, location, 10, committed=3)

    assert availability.available(level(product, location)) == 5


def test_available_product_safety_stock_wins():
    product = make_product(safety_stock=0)
    location = make_location(safety_stock=4)
    put_stock(product, location, 10, committed=3)

    assert availability.available(level(product, location)) == 7


def test_available_never_below_zero():
    product = make_product(safety_stock=5)
    location = make_location()
    put_stock(product, location, 4, committed=1)

    assert availability.available(level(product, location)) == 0


def test_totals_sum_counting_locations_only():
    connector = make_connector()
    product = make_product()
    counted = make_location(safety_stock=1)
    not_counted = make_location()
    paused = make_location(paused=True)
    inactive = make_location(active=False)
    unlinked = make_location()
    link(counted, connector)
    link(not_counted, connector, counts_in_totals=False)
    link(paused, connector)
    link(inactive, connector)
    for location in (counted, not_counted, paused, inactive, unlinked):
        put_stock(product, location, 10, committed=2)

    totals = availability.totals_for(connector)

    assert totals == {product.pk: 7}


def test_totals_include_products_without_stock():
    connector = make_connector()
    stocked = make_product()
    empty = make_product()
    location = make_location()
    link(location, connector)
    put_stock(stocked, location, 3)

    assert availability.totals_for(connector) == {stocked.pk: 3, empty.pk: 0}


def test_totals_respect_allowlist():
    connector = make_connector(inventory_sku_allowlist="KEEP-1, KEEP-2")
    kept = make_product("KEEP-1")
    dropped = make_product("DROP-1")
    location = make_location()
    link(location, connector)
    put_stock(kept, location, 3)
    put_stock(dropped, location, 3)

    assert availability.totals_for(connector) == {kept.pk: 3}


def test_totals_for_given_products():
    connector = make_connector()
    first = make_product()
    second = make_product()
    location = make_location()
    link(location, connector)
    put_stock(first, location, 3)
    put_stock(second, location, 4)

    assert availability.totals_for(connector, [second.pk]) == {second.pk: 4}


def test_totals_query_count_does_not_grow_with_catalog():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    for _ in range(30):
        put_stock(make_product(), location, 2)

    with CaptureQueriesContext(connection) as queries:
        totals = availability.totals_for(connector)

    assert len(totals) == 30
    assert len(queries) == 3


def test_breakdown_explains_each_location():
    connector = make_connector(inventory_sku_allowlist="")
    product = make_product()
    counted = make_location("counted", name="Counted", priority=1)
    skipped = make_location("skipped", name="Skipped", priority=2)
    link(counted, connector, external_id="W1")
    link(skipped, connector, counts_in_totals=False)
    put_stock(product, counted, 5, committed=1)
    put_stock(product, skipped, 9)

    parts = availability.breakdown_for(connector, [product.pk])[product.pk]

    assert [(p.code, p.external_id, p.available, p.counts) for p in parts] == [
        ("counted", "W1", 4, True),
        ("skipped", "ext-skipped", 9, False),
    ]
    assert parts[1].excluded_because == (
        "location does not count in this connector's totals"
    )


def test_first_push_returns_every_product():
    connector = make_connector()
    product = make_product()
    location = make_location()
    link(location, connector)
    put_stock(product, location, 4)

    items = availability.changed_since_last_push(connector)

    assert items == [availability.PushItem(product.pk, None, 4)]


def _accepted(connector, product, quantity):
    InventorySnapshot.objects.update_or_create(
        connector=connector,
        product=product,
        defaults={"identifier": product.sku, "accepted_quantity": quantity},
    )


def test_changed_since_last_push_returns_changed_only():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    changed = make_product("CH-1")
    unchanged = make_product("UN-1")
    for product in (changed, unchanged):
        put_stock(product, location, 5)
        _accepted(connector, product, 5)

    stock.adjust(
        changed, location, on_hand_change=2, reason=StockMovement.Reason.ADJUSTMENT
    )
    items = availability.changed_since_last_push(connector)

    assert items == [availability.PushItem(changed.pk, "CH-1", 7)]


def test_accepted_push_drops_mark():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    product = make_product()
    put_stock(product, location, 5)
    _accepted(connector, product, 5)
    stock.adjust(
        product, location, on_hand_change=1, reason=StockMovement.Reason.ADJUSTMENT
    )
    assert len(availability.changed_since_last_push(connector)) == 1

    _accepted(connector, product, 6)
    items = availability.changed_since_last_push(connector)

    assert items == []
    assert not InventoryChange.objects.filter(connector=connector).exists()


def test_rejected_item_comes_back():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    product = make_product()
    put_stock(product, location, 5)
    _accepted(connector, product, 5)
    stock.adjust(
        product, location, on_hand_change=1, reason=StockMovement.Reason.ADJUSTMENT
    )

    first = availability.changed_since_last_push(connector)
    second = availability.changed_since_last_push(connector)

    assert first == second == [availability.PushItem(product.pk, product.sku, 6)]


def test_change_back_to_accepted_is_not_pushed():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    product = make_product()
    put_stock(product, location, 5)
    _accepted(connector, product, 5)
    reason = StockMovement.Reason.ADJUSTMENT

    stock.adjust(product, location, on_hand_change=1, reason=reason)
    stock.adjust(product, location, on_hand_change=-1, reason=reason)

    assert availability.changed_since_last_push(connector) == []


def test_mark_changed_meanwhile_keeps_mark():
    connector = make_connector()
    location = make_location()
    link(location, connector)
    product = make_product()
    put_stock(product, location, 5)
    _accepted(connector, product, 5)
    availability.mark_changed([product.pk])
    stale = InventoryChange.objects.get(connector=connector)
    availability.mark_changed([product.pk])

    availability._drop_marks(connector, [(product.pk, stale.token)])

    assert InventoryChange.objects.filter(connector=connector).count() == 1


def test_location_change_marks_its_products():
    make_connector()
    location = make_location()
    product = make_product()
    put_stock(product, location, 1)
    InventoryChange.objects.all().delete()

    availability.mark_location_changed(location)

    assert list(InventoryChange.objects.values_list("product_id", flat=True)) == [
        product.pk
    ]


def test_mark_all_changed_for_one_connector():
    connector = make_connector()
    other = make_connector()
    products = [make_product(), make_product()]

    availability.mark_all_changed(connector)

    assert set(InventoryChange.objects.values_list("connector_id", "product_id")) == {
        (connector.pk, product.pk) for product in products
    }
    assert not InventoryChange.objects.filter(connector=other).exists()
