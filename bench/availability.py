"""Benchmark: a connector's totals over 50,000 SKUs and 10 locations, and
finding what to push after a share of the stock changed.

Totals: :func:`inventory.availability.totals_for` (sums in SQL, a fixed
number of queries) beside a naive loop that reads each product's stock
levels with one query per product. The loop runs on a sample of
``baseline_sample`` products, and its full-catalog time is extrapolated
from that sample (``baseline_full_seconds_extrapolated``). Target: under
2 s, with a number of queries that does not grow with the catalog.

Push: after 0.1 % and 1 % of the products changed stock at one location,
:func:`inventory.availability.changed_since_last_push` (reads the change
marks) beside a full comparison of every product's total with its
snapshot. The marked path's work should grow with the changes, the full
comparison's with the catalog.
"""

import json
import random

from bench import Timer, throwaway_database


def run(
    products: int = 50_000,
    locations: int = 10,
    baseline_sample: int = 2_000,
    seed: int = 11,
) -> dict:
    """Seed the catalog and stock, measure both paths, return the figures."""
    with throwaway_database():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from inventory import availability

        connector = _seed(products, locations, seed)
        with CaptureQueriesContext(connection) as queries, Timer() as totals_time:
            totals = availability.totals_for(connector)
        with Timer() as naive_time:
            naive = _naive_totals(connector, baseline_sample)
        mismatches = sum(1 for pk, total in naive.items() if totals[pk] != total)
        naive_full = naive_time.seconds * products / baseline_sample

        _accept_everything(connector, totals)
        push = {
            share: _measure_push(connector, products, share, seed)
            for share in (0.001, 0.01)
        }
        return {
            "benchmark": "availability",
            "products": products,
            "locations": locations,
            "stock_levels": products * locations,
            "totals_seconds": round(totals_time.seconds, 3),
            "totals_queries": len(queries),
            "totals_target_met": totals_time.seconds < 2,
            "baseline_sample": baseline_sample,
            "baseline_sample_seconds": round(naive_time.seconds, 3),
            "baseline_full_seconds_extrapolated": round(naive_full, 1),
            "baseline_mismatches": mismatches,
            "push": push,
        }


def _seed(product_count, location_count, seed):
    from django.db import connection

    from catalog.models import Product
    from connectors.models import Connector
    from inventory.models import ExternalLocation, Location, StockLevel

    connector = Connector.objects.create(kind=Connector.Kind.THG, name="Bench THG")
    Location.objects.bulk_create(
        Location(name=f"Bench {i}", code=f"bench-{i}", priority=i, safety_stock=i % 3)
        for i in range(location_count)
    )
    locations = list(Location.objects.order_by("pk"))
    ExternalLocation.objects.bulk_create(
        ExternalLocation(
            location=location,
            connector=connector,
            external_id=f"W{location.pk}",
            counts_in_totals=index != 0,
        )
        for index, location in enumerate(locations)
    )
    rng = random.Random(seed)
    Product.objects.bulk_create(
        (
            Product(
                sku=f"BENCH-{i:06d}",
                name=f"Bench product {i}",
                safety_stock=1 if rng.random() < 0.1 else None,
            )
            for i in range(product_count)
        ),
        batch_size=5000,
    )
    # 500,000 stock levels: generated in SQL, which takes seconds instead of
    # the minutes bulk_create would.
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed / 100])
        cursor.execute(
            f"""
            INSERT INTO {StockLevel._meta.db_table}
                (product_id, location_id, on_hand, committed, updated_at)
            SELECT product_id, location_id, on_hand,
                   LEAST(on_hand, (random() * 3)::integer), now()
            FROM (
                SELECT product.id AS product_id, location.id AS location_id,
                       (random() * 40)::integer AS on_hand
                FROM {Product._meta.db_table} AS product
                CROSS JOIN {Location._meta.db_table} AS location
            ) AS generated
            """
        )
        cursor.execute(f"ANALYZE {StockLevel._meta.db_table}")
    return connector


def _naive_totals(connector, sample: int) -> dict[int, int]:
    """Sum available() in Python, with one query per product."""
    from catalog.models import Product
    from inventory.availability import available, counting_location_ids
    from inventory.models import StockLevel

    location_ids = counting_location_ids(connector)
    totals = {}
    for product in Product.objects.order_by("pk")[:sample]:
        levels = StockLevel.objects.filter(
            product=product, location_id__in=location_ids
        ).select_related("location")
        totals[product.pk] = 0
        for level in levels:
            level.product = product
            totals[product.pk] += available(level)
    return totals


def _accept_everything(connector, totals) -> None:
    """Record every total as accepted, as after a full push, and clear marks."""
    from inventory.models import InventoryChange, InventorySnapshot

    InventorySnapshot.objects.bulk_create(
        (
            InventorySnapshot(
                connector=connector,
                product_id=product_id,
                identifier=str(product_id),
                accepted_quantity=total,
            )
            for product_id, total in totals.items()
        ),
        batch_size=5000,
    )
    InventoryChange.objects.all().delete()


def _measure_push(connector, product_count, share, seed) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory import availability, stock
    from inventory.models import InventoryChange, Location, StockLevel, StockMovement

    location = Location.objects.order_by("pk")[1]
    rng = random.Random(seed + int(share * 1000))
    changed_count = int(product_count * share)
    levels = list(
        StockLevel.objects.filter(location=location)
        .order_by("?")
        .values_list("product_id", "on_hand")[:changed_count]
    )
    with Timer() as write_time:
        stock.set_on_hand_many(
            [
                stock.StockCount(product_id, location.pk, on_hand + rng.randint(1, 5))
                for product_id, on_hand in levels
            ],
            reason=StockMovement.Reason.IMPORT,
            reference=f"bench {share:.1%}",
        )
    with CaptureQueriesContext(connection) as queries, Timer() as marked_time:
        items = availability.changed_since_last_push(connector)
    with Timer() as full_time:
        full = _full_comparison(connector)
    result = {
        "changed_products": changed_count,
        "import_seconds": round(write_time.seconds, 3),
        "marked_seconds": round(marked_time.seconds, 3),
        "marked_queries": len(queries),
        "marked_items": len(items),
        "full_comparison_seconds": round(full_time.seconds, 3),
        "full_comparison_items": len(full),
        "same_items": sorted(item.product_id for item in items) == sorted(full),
    }
    _accept(connector, items)
    InventoryChange.objects.all().delete()
    return result


def _full_comparison(connector) -> list[int]:
    """Compare every product's total with its snapshot (work grows with the
    catalog)."""
    from inventory import availability
    from inventory.models import InventorySnapshot

    totals = availability.totals_for(connector)
    accepted = dict(
        InventorySnapshot.objects.filter(connector=connector).values_list(
            "product_id", "accepted_quantity"
        )
    )
    return [pk for pk, total in totals.items() if accepted.get(pk) != total]


def _accept(connector, items) -> None:
    from inventory.models import InventorySnapshot

    snapshots = list(
        InventorySnapshot.objects.filter(
            connector=connector, product_id__in=[item.product_id for item in items]
        )
    )
    totals = {item.product_id: item.total for item in items}
    for snapshot in snapshots:
        snapshot.accepted_quantity = totals[snapshot.product_id]
    InventorySnapshot.objects.bulk_update(
        snapshots, ["accepted_quantity"], batch_size=1000
    )


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
