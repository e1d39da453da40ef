"""Benchmark: the order and product changelists at 100 and 100,000 rows.

A superuser opens ``/admin/orders/order/`` and ``/admin/catalog/product/``
through Django's test client, first with 100 rows in each table, then with
100,000, and the queries each page runs are counted
(``CaptureQueriesContext``). The rows at 100 are the baseline. Target: the
same number of queries at 100,000 rows as at 100, so no query runs per row.
The time of each page is reported beside its queries; the first request of
each page is a warm-up and is not counted.
"""

import json
import random

from bench import Timer, throwaway_database

PAGES = {
    "orders": "/admin/orders/order/",
    "products": "/admin/catalog/product/",
}
SMALL = 100


def run(rows: int = 100_000, repeats: int = 3) -> dict:
    """Fill both tables twice over and measure both pages at each size."""
    from bench.ingestion import _quiet_logs

    with _quiet_logs(), throwaway_database():
        from django.test.utils import setup_test_environment

        setup_test_environment()
        client = _superuser_client()
        connector, locations = _seed_shared()

        _add_rows(connector, locations, SMALL, start=0)
        small = {name: _measure(client, path, repeats) for name, path in PAGES.items()}
        _add_rows(connector, locations, rows - SMALL, start=SMALL)
        large = {name: _measure(client, path, repeats) for name, path in PAGES.items()}

        figures = {"benchmark": "admin_lists", "rows_small": SMALL, "rows_large": rows}
        for name in PAGES:
            figures[f"{name}_queries_at_{SMALL}"] = small[name]["queries"]
            figures[f"{name}_queries_at_{rows}"] = large[name]["queries"]
            figures[f"{name}_ms_at_{SMALL}"] = small[name]["ms"]
            figures[f"{name}_ms_at_{rows}"] = large[name]["ms"]
        figures["target_met"] = all(
            small[name]["queries"] == large[name]["queries"] for name in PAGES
        )
        return figures


def _superuser_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser(
        "bench-admin", "bench-admin@example.test", "bench-admin-password"
    )
    client = Client()
    client.force_login(user)
    return client


def _seed_shared():
    from connectors.models import Connector
    from inventory.models import Location

    connector = Connector.objects.create(kind=Connector.Kind.THG, name="Bench THG")
    # bulk_create skips Location.save(), so no geocoding runs here.
    Location.objects.bulk_create(
        Location(name=name, code=name.lower(), priority=index)
        for index, name in enumerate(["Leeds", "Manchester", "Bristol"])
    )
    return connector, list(Location.objects.order_by("pk"))


def _add_rows(connector, locations, count: int, *, start: int) -> None:
    """Add ``count`` products and ``count`` routed orders of two lines each,
    a tenth of them variants and a twentieth with an open exception."""
    from django.utils import timezone

    from catalog.models import Product
    from orders.models import Order, OrderException, OrderLine

    rng = random.Random(start)
    now = timezone.now()
    chunk = 5000
    for offset in range(start, start + count, chunk):
        size = min(chunk, start + count - offset)
        products = Product.objects.bulk_create(
            Product(sku=f"ADMIN-{index:06d}", name=f"Admin product {index}")
            for index in range(offset, offset + size)
        )
        parents = products[: size // 10]
        for variant, parent in zip(
            products[size // 10 : size // 5], parents, strict=False
        ):
            variant.parent = parent
        Product.objects.bulk_update(products[size // 10 : size // 5], ["parent"])
        orders = Order.objects.bulk_create(
            Order(
                connector=connector,
                external_id=f"A{index:07d}",
                reference=f"THG-A{index:07d}",
                channel_status="ACKNOWLEDGED",
                status=Order.Status.ROUTED,
                placed_at=now,
                channel_updated_at=now,
                location=rng.choice(locations),
                ship_city="Leeds",
                ship_country_code="GB",
                currency="GBP",
                total="19.98",
            )
            for index in range(offset, offset + size)
        )
        OrderLine.objects.bulk_create(
            (
                OrderLine(
                    order=order,
                    external_id=str(number),
                    product=rng.choice(products),
                    quantity=1,
                )
                for order in orders
                for number in (1, 2)
            ),
            batch_size=5000,
        )
        OrderException.objects.bulk_create(
            OrderException(
                order=order,
                kind=OrderException.Kind.NO_STOCK,
                message="No location has every line in stock.",
            )
            for order in orders[::20]
        )


def _measure(client, path: str, repeats: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} returned HTTP {response.status_code}.")
    counts, seconds = [], []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries, Timer() as timer:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} returned HTTP {response.status_code}.")
        counts.append(len(queries))
        seconds.append(timer.seconds)
    if len(set(counts)) != 1:
        raise SystemExit(f"GET {path} ran {counts} queries on repeated requests.")
    return {"queries": counts[0], "ms": round(1000 * min(seconds))}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
