"""THG streams: each one direction of one kind of data, as a fixed list of steps.

Every stream function takes a :class:`~connectors.sync.RunContext`, fetches
from or pushes to THG through :class:`~connectors.thg.client.THGClient`,
hands the records to a domain service, and advances the cursor in the same
transaction that commits the records. No transaction stays open across a
call to THG.
"""

import json
import logging
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from catalog import gtin
from catalog.models import ChannelListing, IdentifierMapping, Product
from connectors.models import Connector, OutboxMessage, Stream
from connectors.outbox import deliver_pending
from connectors.streams import route_waiting
from inventory.models import InventorySnapshot
from orders.ingestion import upsert_orders
from orders.models import Order
from orders.returns import upsert_returns

from . import locations, mapping
from .client import STOCK_BATCH_LIMIT, THGClient

logger = logging.getLogger(__name__)

#: Each pull starts this long before the cursor, so records updated at the
#: edge of the previous window are seen again (and found unchanged).
OVERLAP = timedelta(minutes=10)
DEFAULT_FIRST_PULL = timedelta(days=7)
MAX_STOCK_QUANTITY = 99999


def first_pull_start(connector: Connector, now: datetime) -> datetime:
    if connector.orders_start_date:
        return datetime.combine(connector.orders_start_date, time.min, tzinfo=UTC)
    return now - DEFAULT_FIRST_PULL


def sync_locations(context, client: THGClient | None = None) -> None:
    """Create or update the locations of the connector's ``name:id`` pairs,
    and check each id against THG's warehouse list."""
    client = client or THGClient(context.connector)
    pairs = mapping.parse_location_pairs(context.connector.thg_locations)
    warehouses = client.list_warehouses()
    context.made_data_call = True
    context.count(fetched=len(warehouses))
    outcome = locations.apply_pairs(context.connector, pairs, warehouses)
    context.count(created=outcome.created, updated=outcome.updated)
    if outcome.unlisted:
        context.count(failed=len(outcome.unlisted))
        context.run.error = (
            "THG does not list these warehouse ids: "
            + ", ".join(outcome.unlisted)
            + ". Check the pairs with THG support."
        )
    context.save_progress(
        f"{len(pairs)} pairs, {len(warehouses)} warehouses", force=True
    )


def pull_orders(
    context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    on_page=None,
    client: THGClient | None = None,
) -> None:
    """Pull orders updated since the cursor, or in ``since``..``until``.

    While a pull is under way the cursor holds its window and THG's page
    cursor, so an interrupted run resumes at the page it stopped on. When a
    regular pull ends, ``cursor_time`` holds the newest update time
    committed. ``on_page`` is called with the run after each page.
    """
    connector = context.connector
    client = client or THGClient(connector)
    state = context.state
    window = {
        "from": client_time(since) if since else None,
        "to": client_time(until) if until else None,
    }
    resume = json.loads(state.cursor) if state.cursor else {}
    if resume.get("from") and (since is None or resume.get("window") == window):
        window_start = mapping.parse_time(resume["from"])
        after = resume.get("after")
    else:
        if since is not None:
            window_start = since
        elif state.cursor_time is not None:
            window_start = state.cursor_time - OVERLAP
        else:
            window_start = first_pull_start(connector, timezone.now())
        after = None
    newest = state.cursor_time

    pages = 0
    while True:
        page = client.orders_page(
            updated_from=window_start, updated_to=until, after=after
        )
        context.made_data_call = True
        pages += 1
        records = [mapping.order_from_payload(item) for item in page.items]
        with transaction.atomic():
            result = upsert_orders(
                connector, records, status_rank=mapping.ORDER_STATUS_RANK.get
            )
            _queue_acknowledgements(connector, result.created_ids)
            if records:
                page_newest = max(record.updated_at for record in records)
                newest = max(newest, page_newest) if newest else page_newest
            cursor = ""
            if page.next_cursor:
                cursor = json.dumps(
                    {
                        "from": client_time(window_start),
                        "after": page.next_cursor,
                        "window": window,
                    }
                )
            context.save_cursor(cursor=cursor, cursor_time=newest)
        context.count(
            fetched=len(records),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        )
        _route(result.routable_ids)
        context.save_progress(f"page {pages}, {context.run.fetched} orders")
        if on_page is not None:
            on_page(context.run)
        if not page.next_cursor:
            break
        after = page.next_cursor
    deliver_pending(connector, [OutboxMessage.Kind.ACKNOWLEDGEMENT], client=client)
    context.save_progress(f"{pages} pages, {context.run.fetched} orders", force=True)


def backfill_orders(
    context, *, since: datetime, until: datetime | None = None, on_page=None
) -> None:
    """Pull every order updated in ``since``..``until`` (a separate cursor, so
    the regular pull goes on untouched)."""
    pull_orders(context, since=since, until=until, on_page=on_page)


def client_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _queue_acknowledgements(connector: Connector, order_ids: list[int]) -> None:
    """Owe THG an acknowledgement for each new order, written with the order."""
    if not order_ids:
        return
    unacknowledged = Order.objects.filter(
        pk__in=order_ids, channel_status="NEW", acknowledged_at__isnull=True
    ).values_list("external_id", flat=True)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                connector=connector,
                kind=OutboxMessage.Kind.ACKNOWLEDGEMENT,
                reference=external_id,
                payload={"order_id": external_id},
            )
            for external_id in unacknowledged
        ],
        ignore_conflicts=True,
    )


def _route(order_ids: list[int]) -> None:
    if not order_ids:
        return
    from orders.routing import route_orders

    route_orders(Order.objects.filter(pk__in=order_ids))


def pull_returns(
    context, *, since: datetime | None = None, client: THGClient | None = None
) -> None:
    """Pull returns updated since the cursor, when returns come in from THG.

    Returns created in the hub go out through the outbox with the
    fulfillments; with inbound returns switched off this stream pulls nothing.
    """
    connector = context.connector
    if not connector.returns_inbound:
        context.run.progress = "Inbound returns are switched off."
        return
    client = client or THGClient(connector)
    state = context.state
    if since is not None:
        window_start = since
    elif state.cursor_time is not None:
        window_start = state.cursor_time - OVERLAP
    else:
        window_start = first_pull_start(connector, timezone.now())
    newest = state.cursor_time
    for page in client.iter_pages(client.returns_page, updated_from=window_start):
        context.made_data_call = True
        records = [mapping.return_from_payload(item) for item in page.items]
        with transaction.atomic():
            result = upsert_returns(
                connector, records, status_rank=mapping.RETURN_STATUS_RANK.get
            )
            if records:
                page_newest = max(record.updated_at for record in records)
                newest = max(newest, page_newest) if newest else page_newest
            # A return for an order the hub lacks stays behind the cursor,
            # so the next pull fetches it again once the order is in.
            if not result.failed:
                context.save_cursor(cursor_time=newest)
        context.count(
            fetched=len(records),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=result.failed,
        )
        context.save_progress(f"{context.run.fetched} returns")


def push_fulfillments(context, client: THGClient | None = None) -> None:
    """Deliver the dispatches, returns and receipts owed to THG."""
    client = client or THGClient(context.connector)
    result = deliver_pending(
        context.connector,
        [
            OutboxMessage.Kind.DISPATCH,
            OutboxMessage.Kind.RETURN,
            OutboxMessage.Kind.RETURN_RECEIPT,
        ],
        client=client,
    )
    context.count(created=result.delivered, failed=result.failed)
    if result.delivered:
        context.made_data_call = True
    if result.retrying:
        context.run.error = f"{result.retrying} pushes will be retried."


def stock_identifiers(connector: Connector, product_ids=None) -> dict[int, str]:
    """Map products to their THG UPC, under the connector's strategy.

    ``product_ids`` limits the lookup to those products (in chunks).
    """
    strategy = connector.identifier_strategy
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        rows = ChannelListing.objects.filter(
            connector=connector, channel_sku__isnull=False, active=True
        ).values_list("product_id", "channel_sku")
        field = "product_id"
    elif strategy == Connector.IdentifierStrategy.CUSTOM_MAPPING:
        rows = IdentifierMapping.objects.filter(connector=connector).values_list(
            "product_id", "channel_identifier"
        )
        field = "product_id"
    else:
        rows = Product.objects.exclude(upc="").values_list("pk", "upc")
        field = "pk"
    if product_ids is None:
        chunks = [rows]
    else:
        ids = sorted(set(product_ids))
        chunks = [
            rows.filter(**{f"{field}__in": ids[start : start + 2000]})
            for start in range(0, len(ids), 2000)
        ]
    identifiers = {}
    for chunk in chunks:
        for product_id, value in chunk.order_by(field):
            identifiers.setdefault(product_id, gtin.as_ean13(value))
    return identifiers


def push_inventory(context, *, force: bool = False, client: THGClient | None = None):
    """Push the available total per UPC over the locations that count for THG.

    A normal push sends only the items whose total changed since THG last
    accepted one (the change marks of :mod:`inventory.availability`), so its
    work grows with the changes, not with the catalog; ``force`` sends every
    item. Quantities are clamped to THG's 0..99999. Each item's result is
    recorded: a rejected item keeps its old accepted quantity and its mark,
    so the next push sends it again, alone.
    """
    from inventory.availability import changed_since_last_push, totals_for

    connector = context.connector
    client = client or THGClient(connector)
    if force:
        identifiers = stock_identifiers(connector)
        totals = totals_for(connector, product_ids=list(identifiers))
    else:
        changed = changed_since_last_push(connector)
        totals = {item.product_id: item.total for item in changed}
        identifiers = stock_identifiers(connector, product_ids=totals)
    # The allowlist is applied by totals_for: products outside it have no total.
    identifiers = {pk: value for pk, value in identifiers.items() if pk in totals}
    snapshots = {
        snapshot.product_id: snapshot
        for snapshot in _snapshots_for(connector, identifiers)
    }
    items = []
    for product_id, identifier in sorted(identifiers.items()):
        quantity = min(max(totals[product_id], 0), MAX_STOCK_QUANTITY)
        snapshot = snapshots.get(product_id)
        if force or snapshot is None or snapshot.accepted_quantity != quantity:
            items.append((product_id, identifier, quantity))
    context.count(fetched=len(items))

    for start in range(0, len(items), STOCK_BATCH_LIMIT):
        batch = items[start : start + STOCK_BATCH_LIMIT]
        results = client.put_stock(
            [
                {"upc": identifier, "quantity": quantity}
                for _, identifier, quantity in batch
            ]
        )
        context.made_data_call = True
        accepted, rejected = _record_stock_results(
            connector, batch, mapping.stock_results(results), snapshots
        )
        context.count(updated=accepted, failed=rejected)
        context.save_progress(f"{start + len(batch)} of {len(items)} items sent")
    if context.run.failed:
        context.run.error = (
            f"THG rejected {context.run.failed} items; see the inventory snapshots "
            "for each reason."
        )


def _snapshots_for(connector: Connector, product_ids) -> list[InventorySnapshot]:
    ids = sorted(product_ids)
    snapshots = []
    for start in range(0, len(ids), 2000):
        snapshots.extend(
            InventorySnapshot.objects.filter(
                connector=connector, product_id__in=ids[start : start + 2000]
            )
        )
    return snapshots


def _record_stock_results(connector, batch, results, snapshots) -> tuple[int, int]:
    now = timezone.now()
    by_identifier = {result.identifier: result for result in results}
    to_create, to_update = [], []
    accepted = rejected = 0
    for product_id, identifier, quantity in batch:
        result = by_identifier.get(identifier)
        snapshot = snapshots.get(product_id)
        if snapshot is None:
            snapshot = InventorySnapshot(
                connector=connector, product_id=product_id, identifier=identifier
            )
            snapshots[product_id] = snapshot
            to_create.append(snapshot)
        else:
            to_update.append(snapshot)
        snapshot.identifier = identifier
        snapshot.last_sent_quantity = quantity
        snapshot.last_sent_at = now
        if result is not None and result.accepted:
            snapshot.accepted_quantity = quantity
            snapshot.accepted_at = now
            snapshot.last_status = "accepted"
            snapshot.last_error = ""
            accepted += 1
        else:
            snapshot.last_status = "rejected"
            snapshot.last_error = (
                f"{result.error_code}: {result.error_detail}"
                if result
                else "THG sent no result for this item."
            )
            rejected += 1
    with transaction.atomic():
        InventorySnapshot.objects.bulk_create(to_create)
        InventorySnapshot.objects.bulk_update(
            to_update,
            [
                "identifier",
                "last_sent_quantity",
                "last_sent_at",
                "accepted_quantity",
                "accepted_at",
                "last_status",
                "last_error",
            ],
        )
    return accepted, rejected


STREAMS = {
    Stream.LOCATIONS: sync_locations,
    Stream.ORDERS: pull_orders,
    Stream.BACKFILL: backfill_orders,
    Stream.ROUTING: route_waiting,
    Stream.FULFILLMENTS: push_fulfillments,
    Stream.RETURNS: pull_returns,
    Stream.INVENTORY: push_inventory,
}
