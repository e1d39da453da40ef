"""Benchmark: the THG inventory push over 50,000 SKUs and 10 locations.

The hub's push (:func:`connectors.thg.streams.push_inventory`, run through
:func:`connectors.sync.run_stream`) sends its items to the THG sandbox over
HTTP. Three measurements, on one catalog:

- **forced resync**: every item is sent, in ``PUT /v1/stock`` batches of at
  most 500. This first push also records the snapshots the next one
  compares against.
- **normal push**: after 1 % of the products change stock through
  :func:`inventory.stock.set_on_hand_many`, only those are sent. Building
  the push is the time from the run's start to its first ``PUT`` call.
- **baseline**: building the same push the catalog-wide way, in the same
  run and before the normal push: the totals of every product compared
  with every snapshot. It must find the same items.

Targets: the normal push is built in under 2 seconds and sends exactly the
changed items; the forced resync sends all 50,000 items in batches of at
most 500.
"""

import json
import time

from bench import Timer, serve_sandbox, throwaway_database

TARGET_BUILD_SECONDS = 2
REALM = "bench-stock"
SECRET = "bench-stock-client-secret"


def run(products: int = 50_000, locations: int = 10, changed_share=0.01) -> dict:
    """Seed the catalog and stock, run both pushes and the baseline."""
    from bench.ingestion import _quiet_logs

    with _quiet_logs(), throwaway_database(), serve_sandbox() as base_url:
        from connectors.models import Stream, SyncRun
        from connectors.sync import run_stream

        connector, product_ids, location_ids = _seed(base_url, products, locations)

        with _PutCounter() as forced_calls, Timer() as forced:
            forced_run = run_stream(
                connector, Stream.INVENTORY, SyncRun.Trigger.COMMAND, force=True
            )
        _check_succeeded(forced_run)

        changed = _change_stock(product_ids, location_ids, changed_share)
        # The baseline only reads, so it runs first and finds the same items.
        with Timer() as baseline:
            baseline_items = _catalog_wide_items(connector)

        with _PutCounter() as normal_calls, Timer() as normal:
            normal_run = run_stream(
                connector, Stream.INVENTORY, SyncRun.Trigger.COMMAND
            )
        _check_succeeded(normal_run)
        # With nothing to send there is no PUT: the whole run is the build.
        first_put = normal_calls.first_call_at or normal.start + normal.seconds
        build_seconds = first_put - normal.start

        sent = normal_calls.identifiers
        figures = {
            "benchmark": "inventory_push",
            "products": products,
            "locations": locations,
            "stock_levels": products * locations,
            "changed_products": len(changed),
            "forced_seconds": round(forced.seconds, 2),
            "forced_items_sent": forced_calls.items,
            "forced_batches": forced_calls.calls,
            "forced_largest_batch": forced_calls.largest,
            "normal_build_seconds": round(build_seconds, 3),
            "normal_seconds": round(normal.seconds, 2),
            "normal_items_sent": normal_calls.items,
            "normal_batches": normal_calls.calls,
            "normal_sent_only_changed": sent == changed,
            "baseline_build_seconds": round(baseline.seconds, 3),
            "baseline_items": len(baseline_items),
            "baseline_same_items": {item[1] for item in baseline_items} == sent,
            "build_speedup_vs_baseline": round(baseline.seconds / build_seconds, 1),
        }
        figures["target_met"] = (
            build_seconds < TARGET_BUILD_SECONDS
            and figures["normal_sent_only_changed"]
            and forced_calls.items == products
            and forced_calls.largest <= 500
        )
        return figures


def _upc(index: int) -> str:
    from catalog import gtin

    body = f"502{index:09d}"
    return body + str(gtin.check_digit(body))


def _seed(base_url: str, products: int, locations: int):
    from django.db import connection

    from catalog import gtin
    from catalog.models import ChannelListing, Product
    from connectors.models import Connector
    from connectors.thg.sandbox import services as sandbox
    from connectors.thg.sandbox.formats import gtin14
    from connectors.thg.sandbox.models import SandboxListing
    from inventory.models import ExternalLocation, Location, StockLevel

    sandbox_url = f"{base_url}/sandbox/thg"
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="Bench THG stock",
        status=Connector.Status.CONNECTED,
        identifier_strategy=Connector.IdentifierStrategy.CHANNEL_SKU,
        thg_realm=REALM,
        thg_client_id="hub",
        thg_client_secret=SECRET,
        api_url=sandbox_url,
        auth_url=sandbox_url,
    )
    upcs = [_upc(index) for index in range(products)]
    Product.objects.bulk_create(
        (
            Product(
                sku=f"STOCK-{index:06d}",
                name=f"Stock item {index}",
                upc=gtin.normalize(upc),
            )
            for index, upc in enumerate(upcs)
        ),
        batch_size=5000,
    )
    product_ids = dict(Product.objects.values_list("upc", "pk"))
    ChannelListing.objects.bulk_create(
        (
            ChannelListing(
                product_id=product_ids[gtin.normalize(upc)],
                connector=connector,
                channel_sku=gtin.normalize(upc),
            )
            for upc in upcs
        ),
        batch_size=5000,
    )
    # bulk_create skips Location.save(), so no geocoding runs here.
    Location.objects.bulk_create(
        Location(name=f"Warehouse {index}", code=f"wh-{index}", priority=index)
        for index in range(locations)
    )
    location_ids = list(Location.objects.order_by("pk").values_list("pk", flat=True))
    ExternalLocation.objects.bulk_create(
        ExternalLocation(
            connector=connector, location_id=location_id, external_id=f"WH-{index}"
        )
        for index, location_id in enumerate(location_ids)
    )
    # 500,000 stock levels: one INSERT ... SELECT, with on hand 0 to 49.
    table = StockLevel._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (product_id, location_id, on_hand, committed, "
            "updated_at) SELECT p.id, l.id, (p.id * 7 + l.id * 13) %% %s, 0, now() "
            f"FROM {Product._meta.db_table} p CROSS JOIN "
            f"{Location._meta.db_table} l",
            [50],
        )
        cursor.execute(f"ANALYZE {table}")

    account = sandbox.ensure_account(REALM, "hub", SECRET, active=True)
    SandboxListing.objects.bulk_create(
        (
            SandboxListing(
                account=account,
                upc=upc,
                gtin14=gtin14(upc),
                title=f"Stock item {index}",
                unit_price="9.99",
            )
            for index, upc in enumerate(upcs)
        ),
        batch_size=5000,
    )
    return connector, sorted(product_ids.values()), location_ids


def _change_stock(product_ids, location_ids, share: float) -> set[str]:
    """Raise on hand at one location for every 100th product; return the
    UPCs (as THG gets them) of the changed products."""
    from catalog import gtin
    from catalog.models import Product
    from inventory.models import StockLevel, StockMovement
    from inventory.stock import StockCount, set_on_hand_many

    step = round(1 / share)
    chosen = product_ids[::step]
    levels = dict(
        StockLevel.objects.filter(
            product_id__in=chosen, location_id=location_ids[0]
        ).values_list("product_id", "on_hand")
    )
    set_on_hand_many(
        [
            StockCount(product_id, location_ids[0], levels[product_id] + 5)
            for product_id in chosen
        ],
        reason=StockMovement.Reason.IMPORT,
        reference="bench",
    )
    return {
        gtin.as_ean13(upc)
        for upc in Product.objects.filter(pk__in=chosen).values_list("upc", flat=True)
    }


def _catalog_wide_items(connector) -> list[tuple[int, str, int]]:
    """Build the push by comparing every product's total with its snapshot."""
    from connectors.thg.streams import MAX_STOCK_QUANTITY, stock_identifiers
    from inventory.availability import totals_for
    from inventory.models import InventorySnapshot

    identifiers = stock_identifiers(connector)
    totals = totals_for(connector, product_ids=list(identifiers))
    accepted = dict(
        InventorySnapshot.objects.filter(connector=connector).values_list(
            "product_id", "accepted_quantity"
        )
    )
    items = []
    for product_id, identifier in identifiers.items():
        quantity = min(max(totals.get(product_id, 0), 0), MAX_STOCK_QUANTITY)
        if accepted.get(product_id) != quantity:
            items.append((product_id, identifier, quantity))
    return items


class _PutCounter:
    """Counts the client's ``PUT /v1/stock`` calls and items while active."""

    def __enter__(self):
        from connectors.thg.client import THGClient

        self.calls = 0
        self.items = 0
        self.largest = 0
        self.identifiers: set[str] = set()
        self.first_call_at = None
        self._original = THGClient.put_stock
        counter = self

        def put_stock(client, items):
            if counter.first_call_at is None:
                counter.first_call_at = time.perf_counter()
            counter.calls += 1
            counter.items += len(items)
            counter.largest = max(counter.largest, len(items))
            counter.identifiers.update(item["upc"] for item in items)
            return counter._original(client, items)

        THGClient.put_stock = put_stock
        return self

    def __exit__(self, *exc):
        from connectors.thg.client import THGClient

        THGClient.put_stock = self._original


def _check_succeeded(run) -> None:
    from connectors.models import SyncRun

    if run.status != SyncRun.Status.SUCCEEDED or run.failed:
        raise SystemExit(
            f"The inventory push ended {run.status} with {run.failed} rejected "
            f"items: {run.error}"
        )


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
