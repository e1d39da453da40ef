"""Benchmark: pull THG orders from the sandbox over HTTP into the hub.

The THG sandbox is served on a loopback port (:func:`bench.serve_sandbox`).
The real orders stream (:func:`connectors.thg.streams.pull_orders`, run
through :func:`connectors.sync.run_stream`) pulls its orders in pages of
100. It writes them (:func:`orders.ingestion.upsert_orders`), routes them,
and acknowledges each new order to THG through the outbox. Each order has
three lines, all matched by Channel SKU, and two locations hold ample
stock, so every order is routed.

The measurements, each against a figure taken in the same run:

- **pull**: 10,000 new orders. Each step of the stream is timed on its own
  (fetch, map, write, route, acknowledgements). The hub's database queries
  are counted per page on the hub's threads only, because the sandbox's
  queries run on the server's threads. The baseline is a bare
  ``bulk_create`` of the same order and line rows, a page of 100 orders per
  transaction. Targets: at least 300 orders/s through the pull, and a write
  path within 3 times the bare insert. The sandbox sets no rate limit, so
  the outbox's pace for THG (10 calls a second) is lifted here; a pull of
  100 orders with the pace on follows.
- **queries per page**: pulls of 1,000 orders in pages of 20 and of 100.
  Target: the same query count per page for both.
- **growth**: the pull of 10,000 orders into an orders table that already
  holds 0, 10,000 and 100,000 orders, the rest of the table written with
  ``bulk_create``. These orders are ones THG has acknowledged already, so
  each level measures the pull alone. Target: the write and the pull cost
  per order at 100,000 within 1.2 times the cost at 0.
- **backfill memory**: a backfill of 100,000 historic (acknowledged)
  orders, with the peak memory read after every 20,000. Targets: a peak
  under 250 MB, and no rise after the first 20,000 beyond 10 MB.

Before each growth level above 0 and before the backfill, the orders
tables are analyzed, as autovacuum keeps them for a table that grows
gradually (see :func:`_analyze_orders`). The sandbox orders are written
with bulk inserts into the sandbox's tables, because its
``generate_orders`` writes one order at a time, and the payload is checked
against one made by the sandbox's own ``create_order``. Memory is the
process's peak resident set (``VmHWM`` in ``/proc/self/status``, reset
through ``/proc/self/clear_refs`` before each measurement), so it includes
the sandbox server's threads.
"""

import contextlib
import datetime as dt
import json
import logging
import random
import re
import resource
import statistics
import sys
import threading
import time
from collections import defaultdict

from bench import Timer, serve_sandbox, throwaway_database

TARGET_RATE = 300
TARGET_BARE_RATIO = 3
TARGET_GROWTH_RATIO = 1.2
TARGET_PEAK_MB = 250
#: Rise of the backfill's peak from its first checkpoint to its end that
#: still counts as flat (allocator noise).
TARGET_PEAK_RISE_MB = 10

PRODUCTS = 1000
LINES_PER_ORDER = 3
PAGE_SIZE = 100
REALM = "bench"
SECRET = "bench-client-secret-value"
#: Prefilled hub orders get external ids from here on, away from THG's.
PREFILL_ID_BASE = 900_000_000


def run(
    orders: int = 10_000,
    growth_levels: tuple[int, ...] = (0, 10_000, 100_000),
    backfill: int = 100_000,
    backfill_every: int = 20_000,
    small_pages: int = 20,
    paced_orders: int = 100,
    seed: int = 5,
) -> dict:
    """Build the catalog and the sandbox, run every measurement, return the
    figures."""
    with _quiet_logs(), throwaway_database(), serve_sandbox() as base_url:
        world = _build_world(base_url, seed)
        clock = _Clock(start=_now() - dt.timedelta(days=6))

        round_trip = _round_trip_ms(world)
        bare = _bare_insert(world, orders, clock, seed)
        pull = _pull(world, orders, clock, seed + 1, acknowledge=True)
        paced = _paced_acknowledgements(world, paced_orders, clock, seed + 2)
        _empty_orders_table()
        growth = _growth(world, orders, growth_levels, clock, seed + 3)
        query_check = _page_size_check(world, clock, small_pages, seed + 4)
        backfill_figures = _backfill_memory(
            world, backfill, backfill_every, clock, seed + 5
        )

    write_ratio = pull["write_seconds"] / bare["seconds"]
    figures = {
        "benchmark": "ingestion",
        "orders": orders,
        "lines_per_order": LINES_PER_ORDER,
        "page_size": PAGE_SIZE,
        "sandbox_round_trip_ms": round_trip,
        "pull": pull,
        "acks_at_thg_pace": paced,
        "bare_insert": bare,
        "write_vs_bare_insert": round(write_ratio, 2),
        "queries_per_page": query_check,
        "growth": growth,
        "backfill_memory": backfill_figures,
        "memory_measure": _memory_measure_name(),
    }
    figures["targets"] = {
        "pull_orders_per_second_at_least_300": pull["pull_orders_per_second"]
        >= TARGET_RATE,
        "write_within_3x_bare_insert": write_ratio <= TARGET_BARE_RATIO,
        "queries_per_page_constant": query_check["constant"],
        "growth_within_1_2x": growth["write_ratio"] <= TARGET_GROWTH_RATIO
        and growth["pull_ratio"] <= TARGET_GROWTH_RATIO,
        "backfill_peak_under_250_mb": backfill_figures["peak_mb"] < TARGET_PEAK_MB,
        "backfill_peak_flat": backfill_figures["peak_rise_after_first_checkpoint_mb"]
        <= TARGET_PEAK_RISE_MB,
    }
    figures["target_met"] = all(figures["targets"].values())
    return figures


@contextlib.contextmanager
def _quiet_logs():
    """Silence the lines logged per page and per call (INFO), and django-q's
    warning per task run inline (WARNING); errors still show."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _round_trip_ms(world, calls: int = 50) -> float:
    """Time the sandbox's cheapest data call, ``GET /v1/warehouses``: the
    floor under every page fetch and acknowledgement."""
    from connectors.thg.client import THGClient

    client = THGClient(world.connector)
    client.list_warehouses()
    with Timer() as timer:
        for _ in range(calls):
            client.list_warehouses()
    return round(1000 * timer.seconds / calls, 1)


# The world: catalog, stock, connector and the sandbox account.


class _World:
    def __init__(self, connector, account, upcs, product_ids):
        self.connector = connector
        self.account = account
        self.upcs = upcs
        self.product_ids = product_ids


class _Clock:
    """Hands out whole-second update times, one second apart, so that each
    batch of sandbox orders lies in its own window."""

    def __init__(self, start: dt.datetime):
        self.next = start.replace(microsecond=0)

    def take(self, count: int) -> tuple[dt.datetime, dt.datetime]:
        first = self.next
        last = first + dt.timedelta(seconds=count - 1)
        # Leave a gap wider than the stream's overlap window.
        self.next = last + dt.timedelta(hours=1)
        return first, last


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _upc(index: int) -> str:
    from catalog import gtin

    body = f"501{index:09d}"
    return body + str(gtin.check_digit(body))


def _build_world(base_url: str, seed: int) -> _World:
    from catalog import gtin
    from catalog.models import ChannelListing, Product
    from connectors.models import Connector
    from connectors.thg.sandbox import services as sandbox
    from inventory.models import ExternalLocation, Location, StockLevel

    sandbox_url = f"{base_url}/sandbox/thg"
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="Bench THG",
        status=Connector.Status.CONNECTED,
        identifier_strategy=Connector.IdentifierStrategy.CHANNEL_SKU,
        thg_realm=REALM,
        thg_client_id="hub",
        thg_client_secret=SECRET,
        api_url=sandbox_url,
        auth_url=sandbox_url,
    )
    upcs = [_upc(index) for index in range(PRODUCTS)]
    Product.objects.bulk_create(
        Product(
            sku=f"BENCH-{index:05d}", name=f"Bench mug {index}", upc=gtin.normalize(upc)
        )
        for index, upc in enumerate(upcs)
    )
    products = dict(Product.objects.values_list("upc", "pk"))
    product_ids = [products[gtin.normalize(upc)] for upc in upcs]
    ChannelListing.objects.bulk_create(
        ChannelListing(
            product_id=products[gtin.normalize(upc)],
            connector=connector,
            channel_sku=gtin.normalize(upc),
        )
        for upc in upcs
    )
    # bulk_create skips Location.save(), so no geocoding runs here.
    Location.objects.bulk_create(
        Location(name=name, code=name.lower(), priority=index)
        for index, name in enumerate(["Leeds", "Manchester"])
    )
    for index, location in enumerate(Location.objects.order_by("priority")):
        ExternalLocation.objects.create(
            connector=connector, location=location, external_id=f"WH-{index}"
        )
        StockLevel.objects.bulk_create(
            StockLevel(product_id=product_id, location=location, on_hand=10_000_000)
            for product_id in product_ids
        )

    account = sandbox.ensure_account(REALM, "hub", SECRET, active=True)
    sandbox.set_warehouses(account, [("WH-0", "Leeds"), ("WH-1", "Manchester")])
    sandbox.add_listings(
        account, [(upc, f"Bench mug {index}") for index, upc in enumerate(upcs)]
    )
    _check_payload_shape(account, seed)
    return _World(connector, account, upcs, product_ids)


# Sandbox orders, written in bulk.


def _place_orders(
    account, count: int, first: dt.datetime, *, seed: int, status: str = "NEW"
) -> None:
    """Write ``count`` orders of three lines into the sandbox's tables, with
    update times one second apart from ``first``."""
    from django.db import transaction

    from connectors.thg.sandbox.models import SandboxOrder, SandboxOrderLine

    listings = list(account.listings.order_by("pk"))
    rng = random.Random(seed)
    chunk = 2000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        primary_keys = _reserve_keys(SandboxOrder, size)
        orders, lines = [], []
        for offset, primary_key in enumerate(primary_keys):
            at = first + dt.timedelta(seconds=start + offset)
            order, order_lines = _sandbox_order(
                account, primary_key, at, rng, listings, status
            )
            orders.append(order)
            lines.extend(order_lines)
        with transaction.atomic():
            SandboxOrder.objects.bulk_create(orders)
            SandboxOrderLine.objects.bulk_create(lines, batch_size=2000)


def _reserve_keys(model, count: int) -> list[int]:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
            "FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _sandbox_order(account, primary_key, at, rng, listings, status):
    """Build one sandbox order and its lines as ``orders.create_order`` does."""
    from decimal import Decimal

    from connectors.thg.sandbox.formats import format_time, money
    from connectors.thg.sandbox.generator import customer, totals
    from connectors.thg.sandbox.models import SandboxOrder, SandboxOrderLine
    from connectors.thg.sandbox.orders import ORDER_ID_BASE

    order_id = str(ORDER_ID_BASE + primary_key)
    buyer, address = customer(rng)
    chosen = rng.sample(listings, LINES_PER_ORDER)
    quantities = [rng.randint(1, 3) for _ in chosen]
    subtotal = sum(
        (
            listing.unit_price * quantity
            for listing, quantity in zip(chosen, quantities, strict=True)
        ),
        Decimal(0),
    )
    payload = {
        "id": order_id,
        "reference": f"THG-{order_id}",
        "status": status,
        "created_at": format_time(at),
        "updated_at": format_time(at),
        "currency": "GBP",
        "customer": buyer,
        "shipping_address": address,
        "lines": [
            {
                "id": str(number),
                "upc": listing.upc,
                "sku": listing.sku,
                "title": listing.title,
                "quantity": quantity,
                "unit_price": money(listing.unit_price),
                "status": "OPEN",
            }
            for number, (listing, quantity) in enumerate(
                zip(chosen, quantities, strict=True), start=1
            )
        ],
        "totals": totals(subtotal),
    }
    order = SandboxOrder(
        pk=primary_key,
        account=account,
        order_id=order_id,
        status=status,
        payload=payload,
        created_at=at,
        updated_at=at,
        acknowledged_at=at if status != "NEW" else None,
    )
    lines = [
        SandboxOrderLine(
            order=order,
            line_id=str(number),
            upc=listing.upc,
            quantity=quantity,
            unit_price=listing.unit_price,
        )
        for number, (listing, quantity) in enumerate(
            zip(chosen, quantities, strict=True), start=1
        )
    ]
    return order, lines


def _check_payload_shape(account, seed: int) -> None:
    """Check that a bulk-written order has the keys of a ``create_order`` one."""
    from django.db import transaction

    from connectors.thg.sandbox.generator import GeneratedLine, customer
    from connectors.thg.sandbox.orders import create_order

    rng = random.Random(seed)
    listings = list(account.listings.order_by("pk")[:LINES_PER_ORDER])
    with transaction.atomic():
        buyer, address = customer(rng)
        reference = create_order(
            account,
            customer=buyer,
            address=address,
            lines=[
                GeneratedLine(
                    line_id=str(number),
                    upc=listing.upc,
                    sku=listing.sku,
                    title=listing.title,
                    quantity=1,
                    unit_price=listing.unit_price,
                )
                for number, listing in enumerate(listings, start=1)
            ],
        ).payload
        transaction.set_rollback(True)
    built, _ = _sandbox_order(
        account, 1, _now().replace(microsecond=0), rng, listings, "NEW"
    )
    if _shape(built.payload) != _shape(reference):
        raise SystemExit(
            "The bulk-written sandbox order differs in shape from create_order's: "
            f"{_shape(built.payload)} != {_shape(reference)}"
        )


def _shape(value):
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


# Counting the hub's queries and timing the stream's steps.


class _Probe:
    """Times chosen functions and counts the hub thread's queries.

    Queries are counted by an ``execute_wrapper`` on the connection of the
    thread that calls :meth:`counting` and on the connections that the
    outbox's delivery threads open; the sandbox server's threads are left
    out.
    """

    def __init__(self):
        self.queries = 0
        self.seconds = defaultdict(float)
        self.step_queries = defaultdict(int)
        self.pages: list[dict] = []
        self._page_mark = (0, {})
        self._undo = []
        self._lock = threading.Lock()

    def _count(self, execute, sql, params, many, context):
        with self._lock:
            self.queries += 1
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def counting(self):
        """Count the queries of this thread and of the outbox's threads."""
        from django.db import connection
        from django.db.backends.signals import connection_created

        def count_outbox_threads(sender, connection, **kwargs):
            if threading.current_thread().name.startswith("outbox-"):
                connection.execute_wrappers.append(self._count)

        connection_created.connect(count_outbox_threads)
        try:
            with connection.execute_wrapper(self._count):
                yield
        finally:
            connection_created.disconnect(count_outbox_threads)

    def wrap(self, owner, name: str, step: str) -> None:
        original = getattr(owner, name)
        probe = self

        def timed(*args, **kwargs):
            queries = probe.queries
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                probe.seconds[step] += time.perf_counter() - start
                probe.step_queries[step] += probe.queries - queries

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def wrap_atomic(self, module, step: str) -> None:
        """Time the outermost ``transaction.atomic()`` blocks of ``module``."""
        from django.db import transaction

        probe = self

        class TimedTransaction:
            @staticmethod
            @contextlib.contextmanager
            def atomic(*args, **kwargs):
                queries = probe.queries
                start = time.perf_counter()
                try:
                    with transaction.atomic(*args, **kwargs):
                        yield
                finally:
                    probe.seconds[step] += time.perf_counter() - start
                    probe.step_queries[step] += probe.queries - queries

        self._undo.append((module, "transaction", module.transaction))
        module.transaction = TimedTransaction

    def end_page(self, run) -> None:
        queries, steps = self._page_mark
        now_steps = dict(self.step_queries)
        self.pages.append(
            {
                "queries": self.queries - queries,
                **{
                    step: now_steps.get(step, 0) - steps.get(step, 0)
                    for step in now_steps
                },
            }
        )
        self._page_mark = (self.queries, now_steps)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


def _probed_stream(world, stream: str, *, after_page=None, **options):
    """Run ``stream`` of the bench connector under a probe; return the run,
    the probe and the seconds. ``after_page`` is called with the run after
    each page."""
    from connectors.models import SyncRun
    from connectors.sync import RunContext, run_stream
    from connectors.thg import mapping, streams
    from connectors.thg.client import THGClient

    probe = _Probe()
    probe.wrap(THGClient, "orders_page", "fetch")
    probe.wrap(mapping, "order_from_payload", "map")
    probe.wrap_atomic(streams, "write")
    probe.wrap(streams, "upsert_orders", "upsert")
    probe.wrap(streams, "_queue_acknowledgements", "queue_acks")
    probe.wrap(streams, "_route", "route")
    probe.wrap(streams, "deliver_pending", "deliver_acks")
    probe.wrap(RunContext, "save_progress", "progress")
    try:
        with probe.counting(), Timer() as timer:
            run = run_stream(
                world.connector,
                stream,
                SyncRun.Trigger.COMMAND,
                on_page=_both(probe.end_page, after_page),
                **options,
            )
    finally:
        probe.restore()
    if run.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"The {stream} run ended {run.status}: {run.error}")
    return run, probe, timer.seconds


def _both(first, second):
    if second is None:
        return first

    def call(run):
        first(run)
        second(run)

    return call


# The measurements.


def _pull(
    world, count: int, clock: _Clock, seed: int, *, acknowledge: bool, paced=False
) -> dict:
    """Place ``count`` sandbox orders and pull them; return the figures.

    With ``acknowledge`` the orders are NEW, so the stream acknowledges each
    one. Unless ``paced``, the outbox's pace for THG's rate limit is lifted,
    because the sandbox sets none: the figures then show what the hub and
    the sandbox sustain.
    """
    from connectors import outbox
    from connectors.models import OutboxMessage, Stream

    first, last = clock.take(count)
    _place_orders(
        world.account,
        count,
        first,
        seed=seed,
        status="NEW" if acknowledge else "ACKNOWLEDGED",
    )
    pace = outbox.PARALLEL_MAX_PER_SECOND
    if not paced:
        outbox.PARALLEL_MAX_PER_SECOND = None
    try:
        with _peak_memory() as memory:
            run, probe, seconds = _probed_stream(
                world, Stream.ORDERS, since=first, until=last
            )
    finally:
        outbox.PARALLEL_MAX_PER_SECOND = pace
    if run.created != count:
        raise SystemExit(f"The pull created {run.created} of {count} orders.")
    acks = OutboxMessage.objects.filter(
        connector=world.connector,
        kind=OutboxMessage.Kind.ACKNOWLEDGEMENT,
        status=OutboxMessage.Status.DELIVERED,
        reference__in=_sandbox_ids(world.account, first, last),
    ).count()
    if acknowledge and acks != count:
        raise SystemExit(f"{acks} of {count} acknowledgements were delivered.")
    return _pull_figures(count, run, probe, seconds, memory, acks)


def _pull_figures(count, run, probe, seconds, memory, acks) -> dict:
    steps = probe.seconds
    pull_seconds = seconds - steps["deliver_acks"]
    # The first page also carries the run's start (lease, run row).
    full_pages = probe.pages[1:] or probe.pages
    page_queries = [page["queries"] for page in full_pages]
    write_queries = [page.get("write", 0) for page in full_pages]
    figures = {
        "orders": count,
        "pages": len(probe.pages),
        "seconds": round(seconds, 2),
        "pull_seconds": round(pull_seconds, 2),
        "pull_orders_per_second": round(count / pull_seconds),
        "fetch_seconds": round(steps["fetch"], 2),
        "map_seconds": round(steps["map"], 2),
        "write_seconds": round(steps["write"], 2),
        "write_orders_per_second": round(count / steps["write"]),
        "route_seconds": round(steps["route"], 2),
        "progress_seconds": round(steps["progress"], 2),
        "queries_per_page_median": statistics.median(page_queries),
        "queries_per_page_max": max(page_queries),
        "write_queries_per_page_median": statistics.median(write_queries),
        "write_queries_per_page_max": max(write_queries),
        "route_queries_per_page_median": statistics.median(
            page.get("route", 0) for page in full_pages
        ),
        "acks_delivered": acks,
        "acks_seconds": round(steps["deliver_acks"], 2),
        "acks_per_second": round(acks / steps["deliver_acks"])
        if acks and steps["deliver_acks"]
        else None,
        "ack_queries": probe.step_queries["deliver_acks"],
        "ack_queries_per_ack": round(probe.step_queries["deliver_acks"] / acks, 1)
        if acks
        else None,
        "end_to_end_orders_per_second": round(count / seconds),
        "peak_rss_mb": memory["peak_mb"],
        "rss_growth_mb": memory["growth_mb"],
        "created": run.created,
    }
    return figures


def _sandbox_ids(account, first, last) -> list[str]:
    return list(
        account.orders.filter(created_at__gte=first, created_at__lte=last).values_list(
            "order_id", flat=True
        )
    )


def _bare_insert(world, count: int, clock: _Clock, seed: int) -> dict:
    """Time a bare ``bulk_create`` of the rows a pull of ``count`` writes.

    The rows are built in advance from sandbox payloads (placed, read back
    and mapped outside the timer), then written a page of 100 orders per
    transaction, and the tables are emptied after.
    """
    from django.db import connection, transaction

    from catalog import gtin
    from connectors.models import Connector
    from connectors.thg import mapping
    from connectors.thg.sandbox.models import SandboxOrder
    from orders.models import Order, OrderLine

    first, last = clock.take(count)
    _place_orders(world.account, count, first, seed=seed)
    baseline = Connector.objects.create(kind=Connector.Kind.THG, name="Bench bare")
    products = dict(
        zip(map(gtin.normalize, world.upcs), world.product_ids, strict=True)
    )
    records = [
        mapping.order_from_payload(payload)
        for payload in SandboxOrder.objects.filter(
            account=world.account, created_at__gte=first, created_at__lte=last
        )
        .order_by("updated_at", "order_id")
        .values_list("payload", flat=True)
    ]
    pages = []
    for start in range(0, len(records), PAGE_SIZE):
        page = records[start : start + PAGE_SIZE]
        orders = [_bare_order(baseline, record) for record in page]
        lines = [
            [_bare_line(line, products) for line in record.lines] for record in page
        ]
        pages.append((orders, lines))

    with Timer() as timer:
        for orders, lines in pages:
            with transaction.atomic():
                Order.objects.bulk_create(orders)
                for order, order_lines in zip(orders, lines, strict=True):
                    for line in order_lines:
                        line.order = order
                OrderLine.objects.bulk_create(
                    [line for order_lines in lines for line in order_lines]
                )
    # Leave the tables empty for the pull, which measures growth from 0.
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {OrderLine._meta.db_table}, {Order._meta.db_table} CASCADE"
        )
    SandboxOrder.objects.filter(
        account=world.account, created_at__gte=first, created_at__lte=last
    ).delete()
    return {
        "orders": count,
        "seconds": round(timer.seconds, 2),
        "orders_per_second": round(count / timer.seconds),
    }


def _bare_order(connector, record):
    from orders.models import Order

    address = record.address
    return Order(
        connector=connector,
        external_id=record.external_id,
        reference=record.reference,
        channel_status=record.channel_status,
        placed_at=record.placed_at,
        channel_updated_at=record.updated_at,
        currency=record.currency,
        subtotal=record.subtotal,
        shipping_total=record.shipping_total,
        total=record.total,
        customer_name=record.customer_name,
        customer_email=record.customer_email,
        ship_name=address.name,
        ship_line1=address.line1,
        ship_line2=address.line2,
        ship_city=address.city,
        ship_region=address.region,
        ship_postal_code=address.postal_code,
        ship_country_code=address.country_code,
        raw=record.raw,
    )


def _bare_line(line, products):
    from catalog import gtin
    from orders.models import OrderLine

    return OrderLine(
        external_id=line.external_id,
        upc=line.upc,
        channel_sku=line.channel_sku,
        title=line.title,
        quantity=line.quantity,
        unit_price=line.unit_price,
        product_id=products.get(gtin.normalize(line.upc)),
    )


def _paced_acknowledgements(world, count: int, clock: _Clock, seed: int) -> dict:
    """Pull ``count`` new orders with the outbox's pace for THG left on."""
    from connectors import outbox

    if outbox.PARALLEL_MAX_PER_SECOND is None:
        return {}
    figures = _pull(world, count, clock, seed, acknowledge=True, paced=True)
    return {
        "orders": count,
        "max_per_second": outbox.PARALLEL_MAX_PER_SECOND,
        "acks_seconds": figures["acks_seconds"],
        "acks_per_second": figures["acks_per_second"],
    }


def _empty_orders_table() -> None:
    """Empty the hub's orders (and what hangs off them) for the growth runs."""
    from django.db import connection

    from orders.models import Order, OrderLine

    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {OrderLine._meta.db_table}, {Order._meta.db_table} CASCADE"
        )


def _analyze_orders() -> None:
    """Refresh the planner's statistics of the orders tables.

    Autovacuum does this for a table that grows gradually. Right after a
    bulk prefill or a TRUNCATE the statistics are stale or empty, and then
    PostgreSQL 15 looks up a page of orders through the ``connector_id``
    index and filters every order of the connector, instead of probing the
    (connector, external id) unique index: 30 ms instead of 0.4 ms a page
    at 100,000 orders. An empty table is left alone: analyzed empty, it
    makes the planner expect no rows while the pull fills it, and the pull
    into it ran at half its rate.
    """
    from django.db import connection

    from orders.models import Order, OrderLine

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Order._meta.db_table}, {OrderLine._meta.db_table}")


def _page_size_check(world, clock: _Clock, small_pages: int, seed: int) -> dict:
    """Pull 1,000 orders in pages of ``small_pages`` and of 100, and compare
    the hub's queries per full page."""
    from connectors.models import Stream
    from connectors.thg.client import PAGE_LIMIT, THGClient

    per_page = {}
    for limit in (small_pages, PAGE_SIZE):
        first, last = clock.take(1000)
        _place_orders(
            world.account, 1000, first, seed=seed + limit, status="ACKNOWLEDGED"
        )
        THGClient.page_limit = limit
        try:
            _, probe, _ = _probed_stream(world, Stream.ORDERS, since=first, until=last)
        finally:
            THGClient.page_limit = PAGE_LIMIT
        # The last page may be empty or short, and the first one carries the
        # run's own start; compare the pages in between.
        middle = probe.pages[1:-1] or probe.pages
        per_page[limit] = {
            "write": statistics.median(page.get("write", 0) for page in middle),
            "route": statistics.median(page.get("route", 0) for page in middle),
        }
    small, large = per_page[small_pages], per_page[PAGE_SIZE]
    return {
        f"write_queries_pages_of_{small_pages}": small["write"],
        f"write_queries_pages_of_{PAGE_SIZE}": large["write"],
        f"route_queries_pages_of_{small_pages}": small["route"],
        f"route_queries_pages_of_{PAGE_SIZE}": large["route"],
        "constant": small == large,
    }


def _growth(world, count, levels, clock, seed) -> dict:
    """Pull ``count`` more orders into a table holding each of ``levels``.

    The orders are ones THG has acknowledged already, so no acknowledgement
    is owed and each level measures the pull alone.
    """
    from orders.models import Order

    rows = []
    for index, level in enumerate(levels):
        held = Order.objects.count()
        if held > level:
            raise SystemExit(
                f"The orders table already holds {held} orders, more than the "
                f"growth level {level}."
            )
        _prefill(world, level - held)
        if level:
            _analyze_orders()
        figures = _pull(world, count, clock, seed + index, acknowledge=False)
        rows.append(
            {
                "orders_held": level,
                "write_ms_per_order": round(
                    1000 * figures["write_seconds"] / figures["orders"], 3
                ),
                "pull_ms_per_order": round(
                    1000 * figures["pull_seconds"] / figures["orders"], 3
                ),
                "pull_orders_per_second": figures["pull_orders_per_second"],
                "acks_per_second": figures["acks_per_second"],
            }
        )
    first, last = rows[0], rows[-1]
    return {
        "levels": rows,
        "write_ratio": round(
            last["write_ms_per_order"] / first["write_ms_per_order"], 2
        ),
        "pull_ratio": round(last["pull_ms_per_order"] / first["pull_ms_per_order"], 2),
    }


def _prefill(world, count: int) -> None:
    """Add ``count`` orders of three lines to the hub with ``bulk_create``."""
    from django.db import transaction
    from django.utils import timezone

    from orders.models import Order, OrderLine

    if count <= 0:
        return
    rng = random.Random(count)
    placed = timezone.now() - dt.timedelta(days=30)
    start = Order.objects.filter(
        connector=world.connector, external_id__gte=str(PREFILL_ID_BASE)
    ).count()
    chunk = 2000
    for offset in range(start, start + count, chunk):
        size = min(chunk, start + count - offset)
        orders = [
            Order(
                connector=world.connector,
                external_id=str(PREFILL_ID_BASE + offset + number),
                reference=f"THG-{PREFILL_ID_BASE + offset + number}",
                channel_status="DISPATCHED",
                status=Order.Status.FULFILLED,
                placed_at=placed,
                channel_updated_at=placed,
                currency="GBP",
                ship_country_code="GB",
                raw={"id": str(PREFILL_ID_BASE + offset + number)},
            )
            for number in range(size)
        ]
        with transaction.atomic():
            Order.objects.bulk_create(orders)
            OrderLine.objects.bulk_create(
                (
                    OrderLine(
                        order=order,
                        external_id=str(number),
                        product_id=rng.choice(world.product_ids),
                        quantity=1,
                    )
                    for order in orders
                    for number in range(1, LINES_PER_ORDER + 1)
                ),
                batch_size=2000,
            )


def _backfill_memory(world, size: int, every: int, clock, seed) -> dict:
    """Backfill ``size`` historic orders; return the peak memory after every
    ``every`` orders, which should not rise with the orders done."""
    from connectors.models import Stream

    first, last = clock.take(size)
    _place_orders(world.account, size, first, seed=seed, status="ACKNOWLEDGED")
    _analyze_orders()
    checkpoints = []

    def check(run) -> None:
        if run.fetched >= (len(checkpoints) + 1) * every:
            checkpoints.append(
                {"orders_done": run.fetched, "peak_mb": _peak_so_far_mb()}
            )

    with _peak_memory() as memory:
        run, _, seconds = _probed_stream(
            world, Stream.BACKFILL, since=first, until=last, after_page=check
        )
    if run.created != size:
        raise SystemExit(f"The backfill created {run.created} of {size} orders.")
    return {
        "orders": size,
        "seconds": round(seconds, 1),
        "orders_per_second": round(size / seconds),
        "peak_mb": memory["peak_mb"],
        "rss_growth_mb": memory["growth_mb"],
        "peak_by_orders_done": checkpoints,
        "peak_rise_after_first_checkpoint_mb": round(
            checkpoints[-1]["peak_mb"] - checkpoints[0]["peak_mb"], 1
        ),
    }


# Memory.


_STATUS_FIELD = re.compile(r"^(VmHWM|VmRSS):\s+(\d+) kB", re.MULTILINE)


def _proc_status() -> dict[str, int]:
    with open("/proc/self/status") as status:
        return {name: int(kb) for name, kb in _STATUS_FIELD.findall(status.read())}


def _can_reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _memory_measure_name() -> str:
    if _can_reset_peak():
        return "peak resident set (VmHWM, reset before each measurement)"
    return "peak resident set of the whole process so far (ru_maxrss)"


def _peak_so_far_mb() -> float:
    """Return the peak resident set since the last reset, in MB."""
    if sys.platform == "linux" and "VmHWM" in _proc_status():
        return round(_proc_status()["VmHWM"] / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@contextlib.contextmanager
def _peak_memory():
    """Measure the process's peak resident set in MB over the block."""
    figures = {}
    resettable = _can_reset_peak()
    before = _proc_status().get("VmRSS", 0) if sys.platform == "linux" else 0
    try:
        yield figures
    finally:
        if resettable:
            peak_kb = _proc_status()["VmHWM"]
        else:
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if sys.platform == "darwin":
                peak_kb //= 1024
        figures["peak_mb"] = round(peak_kb / 1024, 1)
        figures["growth_mb"] = round((peak_kb - before) / 1024, 1)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
