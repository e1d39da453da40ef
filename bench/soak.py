"""Fault soak: sync against a THG sandbox that fails about a fifth of calls.

The sandbox answers about 20 % of API calls with 429 (with and without
``Retry-After``), 500, a slow response past the client's read timeout, or a
truncated body, and expires each token after 50 calls. Two workers run the
orders, routing, fulfillment and inventory streams side by side while THG
events arrive twice and out of order, and fulfillments recorded in the hub
flow back as dispatches. At the end the hub must hold exactly the sandbox's
orders, the sandbox each dispatch once, and the stock totals the hub
computes. :func:`run_soak` does the work for the CI test and for
``python -m bench.soak``.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

from bench import Timer

SECRET = "soak-client-secret-value"
PASSWORD = "soak-inbound-password-value"
UPCS = [f"50123456{i:04d}" for i in range(1, 13)]


@dataclass
class SoakReport:
    orders: int
    pages: int
    hub_orders: int = 0
    missing: int = 0
    doubled: int = 0
    fulfillments: int = 0
    dispatches: int = 0
    dispatches_doubled: int = 0
    stock_mismatches: int = 0
    faults: dict = field(default_factory=dict)
    retries_logged: int = 0
    runs: int = 0
    runs_failed: int = 0
    runs_skipped: int = 0
    killed_run_left_running: bool | None = None
    seconds: float = 0.0

    @property
    def consistent(self) -> bool:
        return not (
            self.missing
            or self.doubled
            or self.dispatches_doubled
            or self.stock_mismatches
            or self.dispatches != self.fulfillments
        )


def with_check_digit(body: str) -> str:
    from catalog.gtin import check_digit

    return body + str(check_digit(body))


def build(base_url: str, *, orders: int, seed: int):
    """Create the catalog, stock, connector and sandbox account; place orders."""
    from catalog import gtin
    from catalog.models import ChannelListing, Product
    from connectors.models import Connector
    from connectors.thg.sandbox import services as sandbox
    from inventory import stock
    from inventory.models import ExternalLocation, Location, StockMovement

    sandbox_url = f"{base_url}/sandbox/thg"
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="THG soak",
        status=Connector.Status.CONNECTED,
        thg_realm="soak",
        thg_client_id="hub",
        thg_client_secret=SECRET,
        inbound_username="thg-soak",
        api_url=sandbox_url,
        auth_url=sandbox_url,
    )
    connector.set_inbound_password(PASSWORD)
    connector.save()
    locations = [
        Location.objects.create(name=name, code=name.lower(), priority=index)
        for index, name in enumerate(["Leeds", "Manchester"])
    ]
    upcs = [with_check_digit(body) for body in UPCS]
    for index, location in enumerate(locations):
        ExternalLocation.objects.create(
            connector=connector, location=location, external_id=f"WH-{index}"
        )
    for upc in upcs:
        product = Product.objects.create(
            sku=f"SOAK-{upc[-5:]}", name=upc, upc=gtin.normalize(upc)
        )
        ChannelListing.objects.create(
            product=product, connector=connector, channel_sku=gtin.normalize(upc)
        )
        for location in locations:
            stock.set_on_hand(
                product, location, 5000, reason=StockMovement.Reason.IMPORT
            )
    account = sandbox.ensure_account("soak", "hub", SECRET, active=True)
    sandbox.set_warehouses(account, [("WH-0", "Leeds"), ("WH-1", "Manchester")])
    sandbox.add_listings(account, [(upc, upc) for upc in upcs])
    sandbox.register_hub(
        account,
        f"{base_url}/integrations/thg/{connector.key}/events",
        "thg-soak",
        PASSWORD,
    )
    sandbox.generate_orders(account, orders, seed=seed)
    return connector, account


def inject_faults(account, *, rate: float, seed: int, slow_seconds: float) -> None:
    from connectors.thg.sandbox.faults import configure_faults

    configure_faults(
        account,
        rate=rate,
        seed=seed,
        slow_seconds=slow_seconds,
        token_lifetime_calls=50,
    )


def worker_loop(connector_id: int, rounds: int, results: list, stop: threading.Event):
    """Run the cycle's streams ``rounds`` times, as one sync worker would."""
    from django.db import connection

    from connectors.models import Connector, SyncRun
    from connectors.sync import run_stream

    try:
        connector = Connector.objects.get(pk=connector_id)
        for _ in range(rounds):
            if stop.is_set():
                break
            for stream in ("orders", "routing", "fulfillments", "inventory"):
                run = run_stream(connector, stream, SyncRun.Trigger.SCHEDULE)
                results.append(run.status)
    finally:
        connection.close()


def deliver_events_twice_shuffled(account_id: int, seed: int) -> None:
    from django.db import connection

    from connectors.thg.sandbox.events import pending_events, send_events
    from connectors.thg.sandbox.models import SandboxAccount

    try:
        account = SandboxAccount.objects.get(pk=account_id)
        send_events(
            account,
            list(pending_events(account)),
            duplicate=True,
            shuffle=True,
            seed=seed,
        )
    finally:
        connection.close()


def fulfil_routed(connector) -> int:
    """Ship every routed order in full from its location; return how many."""
    from orders.fulfillment import ShipmentDetails, create_fulfillment
    from orders.models import Order

    count = 0
    for order in Order.objects.filter(connector=connector, status="routed"):
        lines = {
            line.pk: line.quantity_open
            for line in order.lines.all()
            if line.quantity_open
        }
        if not lines:
            # Every line was cancelled after routing: nothing to ship.
            continue
        create_fulfillment(
            order,
            order.location,
            ShipmentDetails(carrier="Royal Mail", tracking_number=f"RM{order.pk}GB"),
            lines,
        )
        count += 1
    return count


def kill_mid_run(database_url: str, connector, *, timeout: float = 60) -> bool:
    """Start ``manage.py sync`` in a subprocess, SIGKILL it once its orders
    run has committed a page, and report whether it was still running then."""
    from connectors.models import SyncRun

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SYNC_LEASE_SECONDS": "2",
        "CHANNEL_RETRY_BASE_DELAY": "0.02",
        "CHANNEL_RETRY_MAX_DELAY": "0.1",
        "CHANNEL_READ_TIMEOUT": "0.5",
    }
    manage = os.path.join(os.path.dirname(os.path.dirname(__file__)), "manage.py")
    process = subprocess.Popen(
        [sys.executable, manage, "sync", connector.name, "--stream", "orders"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = SyncRun.objects.filter(
        connector=connector,
        stream="orders",
        trigger=SyncRun.Trigger.COMMAND,
        status=SyncRun.Status.RUNNING,
        fetched__gt=0,
    )
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if started.exists():
            break
        time.sleep(0.05)
    alive = process.poll() is None and started.exists()
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return alive


def check(connector, account, report: SoakReport) -> SoakReport:
    """Compare the hub with the sandbox and fill in the report."""
    from django.db.models import Count

    from connectors.thg.sandbox.models import SandboxDispatch, SandboxListing
    from connectors.thg.streams import stock_identifiers
    from inventory.availability import totals_for
    from orders.models import Fulfillment, Order

    sandbox_ids = set(account.orders.values_list("order_id", flat=True))
    hub_ids = list(
        Order.objects.filter(connector=connector).values_list("external_id", flat=True)
    )
    report.hub_orders = len(hub_ids)
    report.missing = len(sandbox_ids - set(hub_ids))
    report.doubled = len(hub_ids) - len(set(hub_ids))
    report.fulfillments = Fulfillment.objects.filter(order__connector=connector).count()
    references = (
        SandboxDispatch.objects.filter(account=account)
        .values("dispatch_reference")
        .annotate(n=Count("pk"))
    )
    report.dispatches = len(references)
    report.dispatches_doubled = sum(1 for row in references if row["n"] > 1)
    identifiers = stock_identifiers(connector)
    totals = totals_for(connector, product_ids=list(identifiers))
    pushed = {
        listing.upc: listing.last_quantity
        for listing in SandboxListing.objects.filter(account=account)
    }
    report.stock_mismatches = sum(
        1
        for product_id, upc in identifiers.items()
        if pushed.get(upc) != min(totals.get(product_id, 0), 99999)
    )
    return report


def run_soak(
    base_url: str,
    *,
    orders: int,
    page_size: int,
    fault_rate: float = 0.2,
    seed: int = 11,
    rounds: int = 6,
    database_url: str | None = None,
) -> SoakReport:
    """Run the soak against the sandbox at ``base_url``; see the module doc."""
    from connectors.thg.client import PAGE_LIMIT, THGClient

    THGClient.page_limit = page_size
    report = SoakReport(orders=orders, pages=-(-orders // page_size))
    retries = _RetryCounter()
    logging.getLogger("connectors.retry").addHandler(retries)
    try:
        _soak(base_url, orders, fault_rate, seed, rounds, database_url, report)
    finally:
        logging.getLogger("connectors.retry").removeHandler(retries)
        THGClient.page_limit = PAGE_LIMIT
    report.retries_logged = retries.count
    return report


class _RetryCounter(logging.Handler):
    """Counts the retry lines the client logs."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self._lock = threading.Lock()

    def emit(self, record):
        with self._lock:
            self.count += 1


def _soak(base_url, orders, fault_rate, seed, rounds, database_url, report):
    from connectors.models import SyncRun
    from connectors.thg.sandbox.faults import configure_faults, fault_counts

    with Timer() as timer:
        connector, account = build(base_url, orders=orders, seed=seed)
        inject_faults(account, rate=fault_rate, seed=seed, slow_seconds=1.0)
        stop = threading.Event()
        statuses: list = []
        threads = [
            threading.Thread(
                target=worker_loop, args=(connector.pk, rounds, statuses, stop)
            )
            for _ in range(2)
        ]
        threads.append(
            threading.Thread(
                target=deliver_events_twice_shuffled, args=(account.pk, seed)
            )
        )
        for thread in threads:
            thread.start()
        # While the workers run, ship what they route.
        for _ in range(rounds):
            time.sleep(0.5)
            fulfil_routed(connector)
        for thread in threads:
            thread.join()

        if database_url:
            # A worker killed mid-run, then a new one: nothing lost or doubled.
            more = orders
            from connectors.thg.sandbox import services as sandbox

            sandbox.generate_orders(account, more, seed=seed + 1)
            report.orders += more
            report.killed_run_left_running = kill_mid_run(database_url, connector)
            time.sleep(2.5)  # the dead worker's lease expires

        # Settle with the faults off, then compare. Turning them off resets
        # the sandbox's counters, so they are read first.
        report.faults = fault_counts(account)
        configure_faults(account, rate=0.0)
        fulfil_routed(connector)
        worker_loop(connector.pk, 2, statuses, threading.Event())
    report.seconds = round(timer.seconds, 1)
    runs = SyncRun.objects.filter(connector=connector)
    report.runs = runs.count()
    report.runs_failed = runs.filter(status=SyncRun.Status.FAILED).count()
    report.runs_skipped = runs.filter(status=SyncRun.Status.SKIPPED).count()
    check(connector, account, report)


def run(orders: int = 2000, page_size: int = 50) -> dict:
    """The benchmark-sized soak: 2,000 orders over 40 pages, on PostgreSQL."""
    from bench import serve_sandbox, throwaway_database

    with throwaway_database(), serve_sandbox() as base_url:
        from django.conf import settings
        from django.db import connection

        settings.CHANNEL_RETRY_BASE_DELAY = 0.05
        settings.CHANNEL_RETRY_MAX_DELAY = 1.0
        settings.CHANNEL_HTTP_TIMEOUT = (2.0, 0.5)
        db = connection.settings_dict
        database_url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{db['NAME']}"
        )
        report = run_soak(
            base_url, orders=orders, page_size=page_size, database_url=database_url
        )
    return {"benchmark": "soak", **asdict(report), "consistent": report.consistent}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
