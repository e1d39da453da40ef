"""Recording shipments and owing them to the channel.

:func:`create_fulfillment` checks every quantity against what is still open
before it writes anything, then, in one transaction, records the fulfillment,
takes the shipped units out of stock and writes the outbox message that will
push the dispatch to the channel.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.models import Connector, OutboxMessage

from .models import Fulfillment, FulfillmentLine, Order, OrderLine

logger = logging.getLogger(__name__)


class FulfillmentError(ValueError):
    """A fulfillment that cannot be recorded; the message names the value."""


@dataclass(frozen=True)
class ShipmentDetails:
    carrier: str
    tracking_number: str
    service: str = ""
    tracking_url: str = ""
    shipped_at: object = None


def create_fulfillment(
    order: Order,
    location,
    details: ShipmentDetails,
    quantities: dict[int, int],
    *,
    user=None,
) -> Fulfillment:
    """Record a shipment of ``quantities`` (order line id → units) from ``location``.

    Raises :class:`FulfillmentError` naming every line whose quantity is above
    what is still open, or a location the channel cannot be told about, and
    writes nothing in that case. Queues the push to the channel on commit.
    """
    from inventory import stock

    quantities = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not quantities:
        raise FulfillmentError("Enter a quantity for at least one line.")
    if not details.carrier.strip() or not details.tracking_number.strip():
        raise FulfillmentError("A fulfillment needs a carrier and a tracking number.")
    connector = order.connector
    warehouse_id = _channel_location_id(connector, location)

    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status in (Order.Status.CANCELLED, Order.Status.FULFILLED_BY_CHANNEL):
            raise FulfillmentError(
                f"Order {order} is {order.get_status_display().lower()}; it cannot "
                "be fulfilled here."
            )
        lines = {line.pk: line for line in order.lines.select_for_update()}
        _check_quantities(order, lines, quantities)
        fulfillment = Fulfillment.objects.create(
            order=order,
            location=location,
            carrier=details.carrier.strip(),
            service=details.service.strip(),
            tracking_number=details.tracking_number.strip(),
            tracking_url=details.tracking_url.strip(),
            shipped_at=details.shipped_at or timezone.now(),
            created_by=user,
            delivery=Fulfillment.Delivery.PENDING
            if connector.fulfillments_enabled
            else Fulfillment.Delivery.NOT_SENT,
        )
        FulfillmentLine.objects.bulk_create(
            FulfillmentLine(fulfillment=fulfillment, line=lines[line_id], quantity=qty)
            for line_id, qty in quantities.items()
        )
        stock.consume_for_fulfillment(fulfillment)
        _update_order_status(order)
        if connector.fulfillments_enabled:
            queue_dispatch(fulfillment, warehouse_id)
    logger.info(
        "Order %s: fulfillment %s recorded (%d units from %s)",
        order.pk,
        fulfillment.pk,
        sum(quantities.values()),
        location,
    )
    return fulfillment


def _channel_location_id(connector: Connector, location) -> str:
    external = location.external_ids.filter(connector=connector).first()
    if external is None:
        if connector.kind == Connector.Kind.THG and connector.fulfillments_enabled:
            raise FulfillmentError(
                f"Location {location} has no THG warehouse id on {connector}, so THG "
                "cannot be told where it shipped from. Link it to a THG id first."
            )
        return ""
    return external.external_id


def _check_quantities(order, lines: dict[int, OrderLine], quantities) -> None:
    problems = []
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            problems.append(f"line {line_id} is not a line of order {order}")
        elif quantity < 0:
            problems.append(f"line {line.external_id}: {quantity} is below zero")
        elif quantity > line.quantity_open:
            problems.append(
                f"line {line.external_id} ({line.title or line.upc}): {quantity} "
                f"requested but only {line.quantity_open} still open"
            )
    if problems:
        raise FulfillmentError("Nothing was recorded: " + "; ".join(problems) + ".")


def _update_order_status(order: Order) -> None:
    open_lines = [
        line
        for line in order.lines.all()
        if line.status == OrderLine.Status.OPEN and line.quantity_open > 0
    ]
    order.status = (
        Order.Status.PARTIALLY_FULFILLED if open_lines else Order.Status.FULFILLED
    )
    order.save(update_fields=["status", "updated_at"])


def queue_dispatch(fulfillment: Fulfillment, warehouse_id: str) -> OutboxMessage:
    """Write the outbox message for a fulfillment; deliver it after commit."""
    message = OutboxMessage.objects.create(
        connector=fulfillment.order.connector,
        kind=OutboxMessage.Kind.DISPATCH,
        reference=fulfillment.reference,
        payload={
            "fulfillment_id": fulfillment.pk,
            "order_id": fulfillment.order.external_id,
            "warehouse_id": warehouse_id,
        },
    )
    connector_id = fulfillment.order.connector_id
    transaction.on_commit(lambda: _queue_delivery(connector_id))
    return message


def _queue_delivery(connector_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "connectors.tasks.deliver_outbox",
        connector_id,
        task_name=f"outbox-{connector_id}",
    )
