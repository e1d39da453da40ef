"""Routing under concurrency, on PostgreSQL: one connection per thread."""

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from inventory import stock
from inventory.models import StockLevel, StockMovement
from orders import routing
from orders.models import Allocation, Order, RoutingRule
from tests.inventory.factories import (
    make_connector,
    make_location,
    make_order,
    make_product,
    put_stock,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_threads(targets):
    """Start every target at once; return the exceptions they raised."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait(timeout=30)
            target()
        except Exception as exc:  # collected and asserted by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def _committed(product):
    return StockLevel.objects.filter(product=product).aggregate(total=Sum("committed"))[
        "total"
    ]


def test_twenty_orders_race_for_last_five_units():
    product = make_product("LAST-5")
    put_stock(product, make_location("first", priority=1), 3)
    put_stock(product, make_location("second", priority=2), 2)
    RoutingRule.objects.create(name="Split", allow_split=True)
    connector = make_connector()
    orders = [make_order(connector, [(product, 5)]) for _ in range(20)]

    errors = _run_threads([lambda o=o: routing.route_order(o) for o in orders])

    assert errors == []
    assert _committed(product) == 5
    assert Order.objects.filter(status=Order.Status.ROUTED).count() == 1
    assert Order.objects.filter(status=Order.Status.NEEDS_ATTENTION).count() == 19
    assert not StockLevel.objects.filter(on_hand__lt=0).exists()
    assert Allocation.objects.aggregate(total=Sum("quantity"))["total"] == 5


def test_twenty_single_unit_orders_get_five_units():
    product = make_product("ONE-EACH")
    put_stock(product, make_location("first", priority=1), 3)
    put_stock(product, make_location("second", priority=2), 2)
    connector = make_connector()
    orders = [make_order(connector, [(product, 1)]) for _ in range(20)]

    errors = _run_threads([lambda o=o: routing.route_order(o) for o in orders])

    assert errors == []
    assert _committed(product) == 5
    assert Order.objects.filter(status=Order.Status.ROUTED).count() == 5
    assert Order.objects.filter(status=Order.Status.NEEDS_ATTENTION).count() == 15


def test_opposite_line_orders_do_not_deadlock():
    first = make_product("FIRST")
    second = make_product("SECOND")
    locations = [make_location(f"l{i}", priority=i) for i in range(2)]
    for location in locations:
        put_stock(first, location, 10)
        put_stock(second, location, 10)
    connector = make_connector()
    orders = [
        make_order(
            connector, [(first, 1), (second, 1)] if i % 2 else [(second, 1), (first, 1)]
        )
        for i in range(20)
    ]

    errors = _run_threads([lambda o=o: routing.route_order(o) for o in orders])

    assert errors == []
    assert Order.objects.filter(status=Order.Status.ROUTED).count() == 20
    assert _committed(first) == 20
    assert _committed(second) == 20


def test_stock_imports_during_routing():
    product = make_product("IMPORTED")
    others = [make_product(f"OTHER-{i}") for i in range(5)]
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 3)
    put_stock(product, second, 2)
    RoutingRule.objects.create(name="Split", allow_split=True)
    connector = make_connector()
    orders = [make_order(connector, [(product, 1)]) for _ in range(12)]
    counts = [
        stock.StockCount(product.pk, location.pk, 3) for location in (second, first)
    ]
    counts += [stock.StockCount(other.pk, first.pk, 7) for other in others]
    import_results = []

    def run_import(rows):
        try:
            stock.set_on_hand_many(rows, reason=StockMovement.Reason.IMPORT)
            import_results.append("written")
        except stock.InvalidStockChange:
            import_results.append("rejected")

    targets = [lambda o=o: routing.route_order(o) for o in orders]
    targets += [lambda: run_import(counts), lambda: run_import(counts[::-1])] * 3

    errors = _run_threads(targets)

    assert errors == []
    assert len(import_results) == 6
    for level_row in StockLevel.objects.all():
        assert 0 <= level_row.committed <= level_row.on_hand
        allocated = (
            Allocation.objects.filter(
                line__product_id=level_row.product_id,
                location_id=level_row.location_id,
            ).aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        assert level_row.committed == allocated
    routed = Order.objects.filter(status=Order.Status.ROUTED).count()
    assert routed == _committed(product)
    assert 5 <= routed <= 6
