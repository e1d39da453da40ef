"""Writing orders from channel records: idempotent upserts, page by page.

:func:`upsert_orders` takes one page of :class:`~connectors.records.OrderRecord`
and writes it in a constant number of queries: existing orders are read in one
query, new orders and lines are bulk-created, lines are matched to products in
one query, and unmatched lines become exceptions. An update older than the
stored one (by the channel's update time) changes nothing, and a channel
status never moves back to an earlier one.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from catalog.matching import line_identifier, match_lines
from connectors.models import Connector
from connectors.records import OrderRecord

from .models import Order, OrderException, OrderLine

logger = logging.getLogger(__name__)

ORDER_FIELDS = [
    "reference",
    "channel_status",
    "placed_at",
    "channel_updated_at",
    "currency",
    "subtotal",
    "shipping_total",
    "total",
    "customer_name",
    "customer_email",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country_code",
    "fulfilled_by_channel",
    "hold_until",
    "raw",
]


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    created_ids: list[int] = field(default_factory=list)
    #: Orders created or changed that may now be routed.
    routable_ids: list[int] = field(default_factory=list)
    #: Orders that became cancelled, whose stock was released.
    cancelled_ids: list[int] = field(default_factory=list)


def _order_values(record: OrderRecord) -> dict:
    address = record.address
    return {
        "reference": record.reference,
        "channel_status": record.channel_status,
        "placed_at": record.placed_at,
        "channel_updated_at": record.updated_at,
        "currency": record.currency,
        "subtotal": record.subtotal,
        "shipping_total": record.shipping_total,
        "total": record.total,
        "customer_name": record.customer_name,
        "customer_email": record.customer_email,
        "ship_name": address.name,
        "ship_line1": address.line1,
        "ship_line2": address.line2,
        "ship_city": address.city,
        "ship_region": address.region,
        "ship_postal_code": address.postal_code,
        "ship_country_code": address.country_code,
        "fulfilled_by_channel": record.fulfilled_by_channel,
        "hold_until": record.hold_until,
        "raw": record.raw,
    }


def _initial_status(record: OrderRecord) -> str:
    if record.cancelled:
        return Order.Status.CANCELLED
    if record.fulfilled_by_channel:
        return Order.Status.FULFILLED_BY_CHANNEL
    if record.shipped:
        # Shipped before the hub saw it: nothing to route or commit.
        return Order.Status.FULFILLED
    if not record.routable:
        return Order.Status.ON_HOLD
    return Order.Status.NEW


def _line(order: Order, line_record) -> OrderLine:
    return OrderLine(
        order=order,
        external_id=line_record.external_id,
        upc=line_record.upc,
        channel_sku=line_record.channel_sku,
        seller_sku=line_record.seller_sku,
        channel_sku_id=line_record.channel_sku_id,
        title=line_record.title[:255],
        quantity=line_record.quantity,
        unit_price=line_record.unit_price,
        status=OrderLine.Status.CANCELLED
        if line_record.cancelled
        else OrderLine.Status.OPEN,
    )


def upsert_orders(
    connector: Connector,
    records: Iterable[OrderRecord],
    *,
    status_rank: Callable[[str], int] | None = None,
) -> IngestResult:
    """Create or update one page of orders of ``connector`` in one transaction.

    ``status_rank`` gives the position of a channel status in its life cycle;
    a record whose status ranks below the stored one keeps the stored status.
    Records repeated within the page are written once (the newest wins).
    """
    latest: dict[str, OrderRecord] = {}
    for record in records:
        newest = latest.get(record.external_id)
        if newest is None or record.updated_at >= newest.updated_at:
            latest[record.external_id] = record
    result = IngestResult()
    if not latest:
        return result
    rank = status_rank or (lambda status: 0)

    with transaction.atomic():
        existing = {
            order.external_id: order
            for order in Order.objects.filter(
                connector=connector, external_id__in=list(latest)
            ).prefetch_related("lines")
        }
        new_records = [r for eid, r in latest.items() if eid not in existing]
        created_orders = _create_orders(connector, new_records)
        result.created = len(created_orders)
        result.created_ids.extend(order.pk for order in created_orders)
        result.routable_ids.extend(
            order.pk for order in created_orders if order.status == Order.Status.NEW
        )
        result.cancelled_ids.extend(
            order.pk for order in created_orders if order.status == "cancelled"
        )

        for external_id, order in existing.items():
            record = latest[external_id]
            if record.updated_at <= order.channel_updated_at:
                result.unchanged += 1
                continue
            _update_order(connector, order, record, rank, result)
            result.updated += 1
    return result


def _create_orders(connector: Connector, records: list[OrderRecord]) -> list[Order]:
    if not records:
        return []
    orders = [
        Order(
            connector=connector,
            external_id=r.external_id,
            status=_initial_status(r),
            **_order_values(r),
        )
        for r in records
    ]
    Order.objects.bulk_create(orders)
    lines = [
        _line(order, line_record)
        for order, record in zip(orders, records, strict=True)
        for line_record in record.lines
    ]
    match_lines(connector, lines)
    OrderLine.objects.bulk_create(lines)
    _flag_unmatched(connector, lines)
    return orders


def _flag_unmatched(connector: Connector, lines: list[OrderLine]) -> None:
    """Open an exception for each open line that matched no product."""
    unmatched = [
        line
        for line in lines
        if line.product_id is None and line.status == OrderLine.Status.OPEN
    ]
    if not unmatched:
        return
    OrderException.objects.bulk_create(
        [
            OrderException(
                order_id=line.order_id,
                line=line,
                kind=OrderException.Kind.UNMATCHED_LINE,
                identifier=line_identifier(connector, line)[:100],
                message=_unmatched_message(connector, line),
            )
            for line in unmatched
        ],
        ignore_conflicts=True,
    )
    waiting = {line.order_id for line in unmatched}
    Order.objects.filter(
        pk__in=waiting, status__in=[Order.Status.NEW, Order.Status.ON_HOLD]
    ).update(status=Order.Status.NEEDS_ATTENTION)
    logger.info(
        "Connector %s: %d lines on %d orders match no product",
        connector.pk,
        len(unmatched),
        len(waiting),
    )


def _unmatched_message(connector: Connector, line: OrderLine) -> str:
    identifier = line_identifier(connector, line) or "(empty)"
    if connector.kind == Connector.Kind.TIKTOK_SHOP:
        return (
            f"Seller SKU {identifier} matches no master SKU. Make the TikTok "
            "seller SKU equal to the product's SKU."
        )
    strategy = connector.identifier_strategy
    if strategy == Connector.IdentifierStrategy.MASTER_SKU:
        return (
            f"THG SKU {identifier} matches no master SKU. Fill THG's SKU field "
            "with the hub SKU, or change the connector's identifier strategy."
        )
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        return (
            f"UPC {line.upc or '(empty)'} is no product's THG Channel SKU. Set it "
            "on the product's Channel Options, or import a UPC-to-SKU file."
        )
    return (
        f"Identifier {identifier} is not in this connector's mapping table. Add "
        "a mapping or import a UPC-to-SKU file."
    )


def _update_order(connector, order: Order, record: OrderRecord, rank, result) -> None:
    from inventory import stock

    values = _order_values(record)
    if rank(record.channel_status) < rank(order.channel_status):
        values["channel_status"] = order.channel_status
    for name, value in values.items():
        setattr(order, name, value)

    was_cancelled = order.status == Order.Status.CANCELLED
    if record.cancelled and not was_cancelled:
        stock.release_order(order, reference=f"cancelled by channel {record.reference}")
        order.status = Order.Status.CANCELLED
        result.cancelled_ids.append(order.pk)
    elif (
        order.status == Order.Status.ON_HOLD
        and record.routable
        and not record.fulfilled_by_channel
    ):
        order.status = Order.Status.NEW
    order.save(update_fields=[*ORDER_FIELDS, "status", "updated_at"])

    lines = {line.external_id: line for line in order.lines.all()}
    new_lines = []
    newly_cancelled = []
    for line_record in record.lines:
        line = lines.get(line_record.external_id)
        if line is None:
            new_lines.append(_line(order, line_record))
        elif line_record.cancelled and line.status == OrderLine.Status.OPEN:
            line.status = OrderLine.Status.CANCELLED
            newly_cancelled.append(line)
    if newly_cancelled:
        OrderLine.objects.bulk_update(newly_cancelled, ["status"])
        if order.status != Order.Status.CANCELLED:
            stock.release_lines(newly_cancelled, reference="line cancelled by channel")
        OrderException.objects.filter(
            line__in=newly_cancelled, resolved_at__isnull=True
        ).update(resolved_at=timezone.now())
    if new_lines:
        match_lines(connector, new_lines)
        OrderLine.objects.bulk_create(new_lines)
        _flag_unmatched(connector, new_lines)
    if order.status in (Order.Status.NEW, Order.Status.NEEDS_ATTENTION):
        result.routable_ids.append(order.pk)
