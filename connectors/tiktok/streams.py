"""TikTok Shop streams: each one direction of one kind of data.

Every stream function takes a :class:`~connectors.sync.RunContext`, calls
TikTok through :class:`~connectors.tiktok.client.TikTokClient`, hands the
records to a domain service, and moves the cursor in the transaction that
commits them. No transaction stays open across a call to TikTok.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from connectors.errors import PermanentError
from connectors.models import Connector, OutboxMessage, Stream
from connectors.outbox import deliver_pending
from connectors.records import StockItemResult
from connectors.streams import route_waiting

from . import mapping
from .catalog import sync_catalog
from .client import MAX_RETURN_PAGE_SIZE, TikTokClient

logger = logging.getLogger(__name__)

#: Each pull starts this long before the cursor, so records updated at the
#: edge of the previous window are seen again (and found unchanged).
OVERLAP = timedelta(minutes=10)
DEFAULT_FIRST_PULL = timedelta(days=7)
#: TikTok takes stock counts "less than 99999".
MAX_STOCK_QUANTITY = 99998


def first_pull_start(connector: Connector, now: datetime) -> datetime:
    if connector.orders_start_date:
        return datetime.combine(connector.orders_start_date, time.min, tzinfo=UTC)
    return now - DEFAULT_FIRST_PULL


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def _window_start(context, since: datetime | None, now: datetime) -> datetime:
    if since is not None:
        return since
    if context.state.cursor_time is not None:
        return context.state.cursor_time - OVERLAP
    return first_pull_start(context.connector, now)


# Orders -------------------------------------------------------------------


def map_orders(connector: Connector, items: Iterable[dict]):
    """Map a page of TikTok orders; return (records, number that failed)."""
    records, failed = [], 0
    for item in items:
        try:
            records.append(
                mapping.order_record(item, hold_minutes=connector.tiktok_hold_minutes)
            )
        except (KeyError, TypeError, ValueError) as exc:
            failed += 1
            logger.warning(
                "Connector %s: TikTok order %s cannot be read: %s",
                connector.pk,
                item.get("id"),
                exc,
            )
    return records, failed


def _ingest(connector: Connector, records):
    from orders.ingestion import upsert_orders

    return upsert_orders(connector, records, status_rank=mapping.order_status_rank)


def _route(order_ids: list[int]) -> None:
    if not order_ids:
        return
    from orders.models import Order
    from orders.routing import route_orders

    route_orders(Order.objects.filter(pk__in=order_ids))


def pull_orders(
    context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    client: TikTokClient | None = None,
) -> None:
    """Pull orders updated since the cursor (or in ``since``..``until``).

    Searches by ``update_time`` in ascending order, so after each committed
    page the cursor can hold the newest update time seen. A regular pull
    that reaches the last page moves the cursor to the window's end.
    """
    connector = context.connector
    client = client or TikTokClient(connector)
    now = timezone.now()
    start = _window_start(context, since, now)
    end = until or now
    filters = {"update_time_ge": _epoch(start), "update_time_lt": _epoch(end)}
    newest = context.state.cursor_time
    page_token = ""
    pages = 0
    while True:
        page = client.search_orders(filters, page_token=page_token)
        context.made_data_call = True
        pages += 1
        records, unreadable = map_orders(connector, page.items)
        with transaction.atomic():
            result = _ingest(connector, records)
            if records:
                page_newest = max(record.updated_at for record in records)
                newest = max(newest, page_newest) if newest else page_newest
                context.save_cursor(cursor_time=newest)
        context.count(
            fetched=len(page.items),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=result.failed + unreadable,
        )
        _route(result.routable_ids)
        context.save_progress(f"page {pages}, {context.run.fetched} orders")
        if page.is_last:
            break
        page_token = page.next_page_token
    if until is None and not context.run.failed:
        with transaction.atomic():
            context.save_cursor(cursor_time=max(end, newest) if newest else end)
    context.save_progress(f"{pages} pages, {context.run.fetched} orders", force=True)


def backfill_orders(context, *, since: datetime, until: datetime | None = None):
    """Pull every order updated in ``since``..``until``, under its own cursor."""
    pull_orders(context, since=since, until=until or timezone.now())


def fetch_orders(connector: Connector, order_ids: Iterable[str], *, client=None):
    """Fetch orders by id (webhooks) and upsert them; return the IngestResult."""
    if client is None:
        with TikTokClient(connector) as own_client:
            return fetch_orders(connector, order_ids, client=own_client)
    items = client.get_orders(order_ids)
    records, unreadable = map_orders(connector, items)
    result = _ingest(connector, records)
    result.failed += unreadable
    _route(result.routable_ids)
    return result


# Returns ------------------------------------------------------------------


def map_returns(connector: Connector, items: Iterable[dict]):
    records, failed = [], 0
    for item in items:
        try:
            records.append(mapping.return_record(item))
        except (KeyError, TypeError, ValueError) as exc:
            failed += 1
            logger.warning(
                "Connector %s: TikTok return %s cannot be read: %s",
                connector.pk,
                item.get("return_id"),
                exc,
            )
    return records, failed


def _upsert_returns(connector, records):
    from orders.returns import upsert_returns

    return upsert_returns(connector, records)


def pull_returns(
    context, *, since: datetime | None = None, client: TikTokClient | None = None
) -> None:
    """Pull returns updated since the cursor, when returns come in from TikTok.

    A return for an order the hub lacks keeps the cursor where it is, so the
    next pull fetches it again once the order is in.
    """
    connector = context.connector
    if not connector.returns_inbound:
        context.run.progress = "Inbound returns are switched off."
        return
    client = client or TikTokClient(connector)
    now = timezone.now()
    start = _window_start(context, since, now)
    filters = {"update_time_ge": _epoch(start), "update_time_lt": _epoch(now)}
    newest = context.state.cursor_time
    page_token = ""
    held_back = False
    while True:
        page = client.search_returns(
            filters, page_token=page_token, page_size=MAX_RETURN_PAGE_SIZE
        )
        context.made_data_call = True
        records, unreadable = map_returns(connector, page.items)
        with transaction.atomic():
            result = _upsert_returns(connector, records)
            held_back = held_back or bool(result.failed or unreadable)
            if records and not held_back:
                page_newest = max(record.updated_at for record in records)
                newest = max(newest, page_newest) if newest else page_newest
                context.save_cursor(cursor_time=newest)
        context.count(
            fetched=len(page.items),
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            failed=result.failed + unreadable,
        )
        context.save_progress(f"{context.run.fetched} returns")
        if page.is_last:
            break
        page_token = page.next_page_token
    if not held_back:
        with transaction.atomic():
            context.save_cursor(cursor_time=max(now, newest) if newest else now)


def fetch_returns(connector: Connector, return_ids: Iterable[str], *, client=None):
    """Fetch returns by id (webhooks) and upsert them."""
    if client is None:
        with TikTokClient(connector) as own_client:
            return fetch_returns(connector, return_ids, client=own_client)
    page = client.search_returns({"return_ids": list(return_ids)})
    records, unreadable = map_returns(connector, page.items)
    result = _upsert_returns(connector, records)
    result.failed += unreadable
    return result


# Locations ----------------------------------------------------------------


def sync_locations(context, client: TikTokClient | None = None) -> None:
    """Check the linked TikTok warehouse ids against TikTok's warehouse list.

    Links are made by hand (a hub location's external id on this connector);
    this stream records whether TikTok still lists each linked id and its
    name, and reports TikTok sales warehouses that no location is linked to.
    """
    from inventory.models import ExternalLocation

    connector = context.connector
    client = client or TikTokClient(connector)
    warehouses = [mapping.warehouse_record(w) for w in client.get_warehouses()]
    context.made_data_call = True
    context.count(fetched=len(warehouses))
    by_id = {warehouse.id: warehouse for warehouse in warehouses}
    links = list(ExternalLocation.objects.filter(connector=connector))
    for link in links:
        warehouse = by_id.get(link.external_id)
        link.listed_by_channel = warehouse is not None
        if warehouse is not None:
            link.external_name = warehouse.name[:200]
    ExternalLocation.objects.bulk_update(links, ["listed_by_channel", "external_name"])
    context.count(updated=len(links))
    linked = {link.external_id for link in links}
    unlinked = [
        f"{w.id} ({w.name})"
        for w in warehouses
        if w.is_sales_warehouse and w.id not in linked
    ]
    unlisted = [link.external_id for link in links if not link.listed_by_channel]
    problems = []
    if unlinked:
        problems.append(
            "TikTok warehouses linked to no hub location (link them so stock is "
            "pushed there): " + ", ".join(unlinked)
        )
    if unlisted:
        problems.append(
            "Linked warehouse ids that TikTok does not list: " + ", ".join(unlisted)
        )
    if problems:
        context.count(failed=len(unlinked) + len(unlisted))
        context.run.error = ". ".join(problems) + "."
    context.save_progress(f"{len(warehouses)} warehouses", force=True)


# Inventory ----------------------------------------------------------------


def _warehouse_links(connector: Connector) -> dict[int, str]:
    from inventory.models import ExternalLocation

    return dict(
        ExternalLocation.objects.filter(connector=connector).values_list(
            "location_id", "external_id"
        )
    )


def stock_by_warehouse(
    connector: Connector, product_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Return product id → TikTok warehouse id → units to push.

    Each linked warehouse gets its location's available units when the
    location counts in the connector's totals, and 0 otherwise, so every
    warehouse TikTok stocks the SKU in is listed, as TikTok requires.
    """
    from inventory.availability import breakdown_for

    links = _warehouse_links(connector)
    ids = list(product_ids)
    parts = breakdown_for(connector, ids)
    result = {}
    for product_id in ids:
        quantities = dict.fromkeys(links.values(), 0)
        for part in parts.get(product_id, []):
            warehouse_id = links.get(part.location_id)
            if warehouse_id and part.counts:
                quantities[warehouse_id] = min(part.available, MAX_STOCK_QUANTITY)
        result[product_id] = quantities
    return result


def _listings(connector: Connector):
    from catalog.models import ChannelListing

    listings = (
        ChannelListing.objects.filter(connector=connector, active=True)
        .exclude(channel_product_id="")
        .exclude(channel_sku_id="")
        .select_related("product")
    )
    allowlist = connector.sku_allowlist()
    return [
        listing
        for listing in listings
        if not allowlist or listing.product.sku in allowlist
    ]


def push_inventory(context, *, force: bool = False, client: TikTokClient | None = None):
    """Push available units per SKU and TikTok warehouse (one call per product).

    A normal push sends the products whose total changed since TikTok last
    accepted it; ``force`` sends every listed product. Each product's result
    is recorded on its inventory snapshot.
    """
    from inventory.availability import changed_since_last_push

    connector = context.connector
    if not _warehouse_links(connector):
        context.run.error = (
            "No hub location is linked to a TikTok warehouse on this connector, so "
            "no stock can be pushed. Link locations to TikTok warehouse ids first."
        )
        return
    listings = {listing.product_id: listing for listing in _listings(connector)}
    if force:
        product_ids = sorted(listings)
    else:
        changed = {item.product_id for item in changed_since_last_push(connector)}
        product_ids = sorted(changed & set(listings))
    context.count(fetched=len(product_ids))
    if not product_ids:
        return
    client = client or TikTokClient(connector)
    stock = stock_by_warehouse(connector, product_ids)

    by_tiktok_product: dict[str, list[int]] = defaultdict(list)
    for product_id in product_ids:
        by_tiktok_product[listings[product_id].channel_product_id].append(product_id)
    for sent, (tiktok_product_id, hub_ids) in enumerate(by_tiktok_product.items(), 1):
        quantities = {
            listings[pk].channel_sku_id: stock[pk] for pk in hub_ids if stock[pk]
        }
        results = _send_stock(client, tiktok_product_id, quantities)
        context.made_data_call = True
        accepted, rejected = _record_stock(connector, hub_ids, listings, stock, results)
        context.count(updated=accepted, failed=rejected)
        context.save_progress(f"{sent} of {len(by_tiktok_product)} products sent")
    if context.run.failed:
        context.run.error = (
            f"TikTok rejected the stock of {context.run.failed} SKUs; see the "
            "inventory snapshots for each reason."
        )


def _send_stock(client, tiktok_product_id, quantities) -> list[StockItemResult]:
    """Send one product's stock; a rejected request rejects each of its items."""
    try:
        return client.update_inventory(tiktok_product_id, quantities)
    except PermanentError as exc:
        return [
            StockItemResult(
                identifier=mapping.stock_identifier(sku_id, warehouse_id),
                accepted=False,
                error_code=exc.code,
                error_detail=exc.detail or str(exc),
            )
            for sku_id, warehouses in quantities.items()
            for warehouse_id in warehouses
        ]


def _record_stock(connector, hub_ids, listings, stock, results) -> tuple[int, int]:
    """Store each SKU's result on its snapshot; return (accepted, rejected).

    The accepted quantity is the SKU's units summed over its warehouses,
    which is the connector's total that the next push compares against.
    """
    from inventory.models import InventorySnapshot

    by_identifier = {result.identifier: result for result in results}
    now = timezone.now()
    accepted = rejected = 0
    for product_id in hub_ids:
        sku_id = listings[product_id].channel_sku_id
        quantities = stock[product_id]
        outcomes = [
            by_identifier.get(mapping.stock_identifier(sku_id, warehouse_id))
            for warehouse_id in quantities
        ]
        total = sum(quantities.values())
        values = {
            "identifier": sku_id,
            "last_sent_quantity": total,
            "last_sent_at": now,
        }
        if outcomes and all(outcome and outcome.accepted for outcome in outcomes):
            values.update(
                accepted_quantity=total,
                accepted_at=now,
                last_status="accepted",
                last_error="",
            )
            accepted += 1
        else:
            errors = sorted(
                {
                    f"{outcome.error_code}: {outcome.error_detail}"
                    for outcome in outcomes
                    if outcome and not outcome.accepted
                }
            )
            values.update(
                last_status="rejected",
                last_error="; ".join(errors) or "TikTok sent no result for this SKU.",
            )
            rejected += 1
        InventorySnapshot.objects.update_or_create(
            connector=connector, product_id=product_id, defaults=values
        )
    return accepted, rejected


# Fulfillments -------------------------------------------------------------


def push_fulfillments(context, client: TikTokClient | None = None) -> None:
    """Mark the packages owed to TikTok as shipped (the outbox's dispatches)."""
    client = client or TikTokClient(context.connector)
    result = deliver_pending(
        context.connector, [OutboxMessage.Kind.DISPATCH], client=client
    )
    context.count(created=result.delivered, failed=result.failed)
    if result.delivered:
        context.made_data_call = True
    if result.retrying:
        context.run.error = f"{result.retrying} shipments will be retried."


STREAMS = {
    Stream.LOCATIONS: sync_locations,
    # Before orders, so that lines of a new TikTok product find it.
    Stream.CATALOG: sync_catalog,
    Stream.ORDERS: pull_orders,
    Stream.BACKFILL: backfill_orders,
    Stream.ROUTING: route_waiting,
    Stream.FULFILLMENTS: push_fulfillments,
    Stream.RETURNS: pull_returns,
    Stream.INVENTORY: push_inventory,
}
