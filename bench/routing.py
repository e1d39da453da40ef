"""Benchmark: route 10,000 orders of one to four lines over 10 locations.

The engine (:func:`orders.routing.route_orders`, batches of 500 orders per
transaction) is measured beside a naive per-order loop. The loop locks and
reads stock line by line and writes one row at a time. Both run on the
same data, because the state is reset between the two runs. Targets: at
least 500 orders/s, and at least 10 times the baseline's rate. The
baseline routes the first ``baseline_orders`` orders only, because it is
slow. Both rates are orders per second of wall-clock time.
"""

import json
import random

from bench import Timer, throwaway_database


def run(
    orders: int = 10_000,
    locations: int = 10,
    products: int = 2_000,
    baseline_orders: int = 1_000,
    seed: int = 7,
) -> dict:
    """Seed the data, run the engine and the baseline, return the figures."""
    with throwaway_database():
        from orders.models import Order

        order_ids = _seed(orders, locations, products, seed)
        with Timer() as engine:
            summary = _route_engine(order_ids)
        engine_state = _check_consistent()

        _reset()
        baseline_ids = order_ids[:baseline_orders]
        with Timer() as naive:
            naive_routed = _route_naive(baseline_ids)
        _check_consistent()

        engine_rate = len(order_ids) / engine.seconds
        naive_rate = len(baseline_ids) / naive.seconds
        return {
            "benchmark": "routing",
            "orders": len(order_ids),
            "lines": _line_count(),
            "locations": locations,
            "products": products,
            "engine_seconds": round(engine.seconds, 2),
            "engine_orders_per_second": round(engine_rate),
            "engine_routed": summary.routed,
            "engine_no_stock": summary.no_stock,
            "units_committed": engine_state,
            "baseline_orders": len(baseline_ids),
            "baseline_seconds": round(naive.seconds, 2),
            "baseline_orders_per_second": round(naive_rate),
            "baseline_routed": naive_routed,
            "speedup": round(engine_rate / naive_rate, 1),
            "target_met": engine_rate >= 500 and engine_rate >= 10 * naive_rate,
            "orders_left": Order.objects.count(),
        }


def _seed(order_count, location_count, product_count, seed) -> list[int]:
    from django.utils import timezone

    from catalog.models import Product
    from connectors.models import Connector
    from inventory.models import Location, StockLevel
    from orders.models import Order, OrderLine

    rng = random.Random(seed)
    connector = Connector.objects.create(kind=Connector.Kind.THG, name="Bench THG")
    # bulk_create skips Location.save(), so no geocoding runs here.
    Location.objects.bulk_create(
        Location(name=f"Bench {i}", code=f"bench-{i}", priority=i)
        for i in range(location_count)
    )
    Product.objects.bulk_create(
        Product(sku=f"BENCH-{i:05d}", name=f"Bench product {i}")
        for i in range(product_count)
    )
    location_ids = list(Location.objects.values_list("pk", flat=True))
    product_ids = list(Product.objects.values_list("pk", flat=True))
    StockLevel.objects.bulk_create(
        (
            StockLevel(
                product_id=product_id,
                location_id=location_id,
                on_hand=0 if rng.random() < 0.1 else rng.randint(1, 30),
            )
            for product_id in product_ids
            for location_id in location_ids
        ),
        batch_size=5000,
    )
    now = timezone.now()
    Order.objects.bulk_create(
        (
            Order(
                connector=connector,
                external_id=f"B{i:06d}",
                channel_status="NEW",
                placed_at=now,
                channel_updated_at=now,
                ship_country_code="GB",
            )
            for i in range(order_count)
        ),
        batch_size=2000,
    )
    order_ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))
    OrderLine.objects.bulk_create(
        (
            OrderLine(
                order_id=order_id,
                external_id=f"{order_id}-{n}",
                product_id=product_id,
                quantity=rng.randint(1, 3),
            )
            for order_id in order_ids
            for n, product_id in enumerate(rng.sample(product_ids, rng.randint(1, 4)))
        ),
        batch_size=5000,
    )
    return order_ids


def _route_engine(order_ids):
    from orders import routing

    return routing.route_orders(order_ids)


def _route_naive(order_ids) -> int:
    """Route order by order, reading and locking stock one line at a time."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from inventory.models import Location, StockLevel, StockMovement
    from orders.models import Allocation, Order

    routed = 0
    for order_id in order_ids:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            lines = list(order.lines.all())
            for location in Location.objects.filter(active=True, paused=False).order_by(
                "priority", "name"
            ):
                levels = []
                for line in lines:
                    level = (
                        StockLevel.objects.select_for_update()
                        .filter(product_id=line.product_id, location=location)
                        .first()
                    )
                    if level is None or level.on_hand - level.committed < line.quantity:
                        break
                    levels.append(level)
                else:
                    for line, level in zip(lines, levels, strict=True):
                        StockLevel.objects.filter(pk=level.pk).update(
                            committed=F("committed") + line.quantity
                        )
                        Allocation.objects.create(
                            line=line, location=location, quantity=line.quantity
                        )
                        StockMovement.objects.create(
                            product_id=line.product_id,
                            location=location,
                            reason=StockMovement.Reason.COMMIT,
                            committed_change=line.quantity,
                        )
                    order.status = Order.Status.ROUTED
                    order.location = location
                    order.routed_at = timezone.now()
                    order.save()
                    routed += 1
                    break
    return routed


def _reset() -> None:
    from inventory.models import StockLevel, StockMovement
    from orders.models import Allocation, Order, OrderException

    Allocation.objects.all().delete()
    StockMovement.objects.all().delete()
    OrderException.objects.all().delete()
    StockLevel.objects.update(committed=0)
    Order.objects.update(
        status=Order.Status.NEW, location=None, routing_decision=None, routed_at=None
    )


def _check_consistent() -> int:
    """Check committed equals the allocations and never exceeds on hand."""
    from django.db.models import F, Sum

    from inventory.models import StockLevel
    from orders.models import Allocation

    committed = StockLevel.objects.aggregate(total=Sum("committed"))["total"] or 0
    allocated = Allocation.objects.aggregate(total=Sum("quantity"))["total"] or 0
    if committed != allocated:
        raise AssertionError(f"committed {committed} != allocated {allocated}")
    if StockLevel.objects.filter(committed__gt=F("on_hand")).exists():
        raise AssertionError("committed above on hand")
    return committed


def _line_count() -> int:
    from orders.models import OrderLine

    return OrderLine.objects.count()


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
