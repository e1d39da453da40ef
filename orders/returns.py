"""Returns in both directions.

Inbound returns come from the channel (pulled or as events) and are upserted
by (order, channel id); their status never moves back. Outbound returns are
created in the hub for a fulfilled order and owed to the channel through the
outbox, and so is each receipt recorded at a location. Restock follows the
condition of what arrived, at the receiving location: GOOD goes back on
hand, DAMAGED does not, whatever was refunded.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.models import Connector, OutboxMessage
from connectors.records import ReturnRecord

from .models import Order, Return, ReturnLine

logger = logging.getLogger(__name__)


class ReturnError(ValueError):
    """A return or receipt that cannot be recorded; the message gives the reason."""


@dataclass
class ReturnsResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


def upsert_returns(
    connector: Connector,
    records: Iterable[ReturnRecord],
    *,
    status_rank: Callable[[str], int | None] | None = None,
) -> ReturnsResult:
    """Create or update inbound returns; a return for an unknown order fails alone."""
    records = list(records)
    rank = status_rank or (lambda status: 0)
    result = ReturnsResult()
    orders = {
        order.external_id: order
        for order in Order.objects.filter(
            connector=connector,
            external_id__in={record.order_external_id for record in records},
        )
    }
    for record in records:
        order = orders.get(record.order_external_id)
        if order is None:
            result.failed += 1
            logger.warning(
                "Connector %s: return %s is for order %s, which the hub does not "
                "have; it is kept for the next pull",
                connector.pk,
                record.external_id,
                record.order_external_id,
            )
            continue
        with transaction.atomic():
            outcome = _upsert_one(order, record, rank)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _upsert_one(order: Order, record: ReturnRecord, rank) -> str:
    existing = (
        Return.objects.select_for_update()
        .filter(order=order, external_id=record.external_id)
        .first()
    )
    reference = record.raw.get("return_reference")
    if existing is None and reference:
        # A return the hub created and sent comes back with the hub's reference.
        existing = Return.objects.filter(
            order=order,
            direction=Return.Direction.OUTBOUND,
            raw__return_reference=reference,
        ).first()
    outcome = "updated"
    if existing is None:
        existing = Return(
            order=order, direction=Return.Direction.INBOUND, location=order.location
        )
        outcome = "created"
    elif (
        existing.channel_updated_at and record.updated_at <= existing.channel_updated_at
    ):
        return "unchanged"
    new_rank = rank(record.channel_status) or 0
    old_rank = (rank(existing.channel_status) or 0) if existing.channel_status else -1
    if new_rank >= old_rank:
        existing.channel_status = record.channel_status
    existing.external_id = record.external_id
    existing.channel_updated_at = record.updated_at
    existing.reason = record.reason[:200]
    existing.raw = record.raw
    existing.save()
    _upsert_lines(existing, record)
    return outcome


def _upsert_lines(return_request: Return, record: ReturnRecord) -> None:
    order_lines = {line.external_id: line for line in return_request.order.lines.all()}
    current = {line.line.external_id: line for line in return_request.lines.all()}
    for line_record in record.lines:
        order_line = order_lines.get(line_record.order_line_external_id)
        if order_line is None:
            logger.warning(
                "Return %s names line %s, which order %s does not have",
                record.external_id,
                line_record.order_line_external_id,
                return_request.order,
            )
            continue
        line = current.get(line_record.order_line_external_id)
        if line is None:
            line = ReturnLine(return_request=return_request, line=order_line)
        line.quantity = line_record.quantity
        line.reason = line_record.reason[:200]
        if line_record.condition:
            line.condition = line_record.condition
        line.save()


def create_return(
    order: Order, quantities: dict[int, int], *, reason: str = "", user=None
) -> Return:
    """Create a return in the hub for units already shipped, owed to the channel.

    Raises :class:`ReturnError` naming every line asked to return more than
    was fulfilled, and writes nothing then.
    """
    quantities = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not quantities:
        raise ReturnError("Enter a quantity for at least one line.")
    lines = {line.pk: line for line in order.lines.all()}
    problems = []
    for line_id, quantity in quantities.items():
        line = lines.get(line_id)
        if line is None:
            problems.append(f"line {line_id} is not on order {order}")
        elif quantity > line.quantity_fulfilled:
            problems.append(
                f"line {line.external_id}: {quantity} to return but "
                f"{line.quantity_fulfilled} shipped"
            )
    if problems:
        raise ReturnError("Nothing was recorded: " + "; ".join(problems) + ".")
    connector = order.connector
    with transaction.atomic():
        return_request = Return.objects.create(
            order=order,
            direction=Return.Direction.OUTBOUND,
            reason=reason[:200],
            location=order.location,
            delivery="pending" if connector.returns_outbound else "not_sent",
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                line=lines[line_id],
                quantity=quantity,
                reason=reason[:200],
            )
            for line_id, quantity in quantities.items()
        )
        return_request.raw = {"return_reference": return_request.reference}
        return_request.save(update_fields=["raw"])
        if connector.returns_outbound:
            _owe(connector, OutboxMessage.Kind.RETURN, return_request)
    return return_request


def record_receipt(
    return_request: Return,
    location,
    received: list[tuple[int, int, str]],
    *,
    user=None,
) -> int:
    """Record what arrived at ``location``: (return line id, units, condition).

    A line may appear twice, for units in each condition. GOOD units go back
    on hand there, DAMAGED ones do not, and the channel is owed one return
    receipt when returns go out (THG takes one receipt per return). Raises
    :class:`ReturnError` naming every bad entry, writing nothing then.
    Returns the units restocked.
    """
    from inventory import stock

    lines = {line.pk: line for line in return_request.lines.select_related("line")}
    problems = []
    if return_request.received_at is not None:
        problems.append(f"return {return_request} was already received")
    expected = {
        pk: line.quantity - line.quantity_received for pk, line in lines.items()
    }
    for line_id, quantity, condition in received:
        line = lines.get(line_id)
        if line is None:
            problems.append(f"line {line_id} is not on return {return_request}")
            continue
        if condition not in ReturnLine.Condition.values:
            problems.append(
                f"line {line_id}: condition {condition!r} is not GOOD or DAMAGED"
            )
        expected[line_id] -= quantity
        if quantity <= 0 or expected[line_id] < 0:
            problems.append(
                f"line {line_id}: {quantity} received is more than the "
                f"{line.quantity - line.quantity_received} expected"
            )
    if problems:
        raise ReturnError("Nothing was recorded: " + "; ".join(problems) + ".")
    connector = return_request.order.connector
    restocked = 0
    with transaction.atomic():
        return_request.location = location
        return_request.received_at = timezone.now()
        return_request.save(update_fields=["location", "received_at"])
        for line_id, quantity, condition in received:
            line = lines[line_id]
            line.quantity_received += quantity
            # NOTE: a line received in both conditions keeps the last one
            # here; the ledger and the receipt sent to the channel keep both.
            line.condition = condition
            line.save(update_fields=["quantity_received", "condition"])
            restocked += stock.restock_return_line(
                line, quantity=quantity, location=location, user=user
            )
        if connector.returns_outbound:
            _owe(
                connector,
                OutboxMessage.Kind.RETURN_RECEIPT,
                return_request,
                lines=[
                    {
                        "line_id": lines[line_id].line.external_id,
                        "quantity": quantity,
                        "condition": condition,
                    }
                    for line_id, quantity, condition in received
                ],
            )
    return restocked


def _owe(connector, kind, return_request: Return, **payload) -> None:
    reference = return_request.reference
    OutboxMessage.objects.create(
        connector=connector,
        kind=kind,
        reference=reference,
        payload={"return_id": return_request.pk, **payload},
    )
    connector_id = connector.pk
    transaction.on_commit(lambda: _queue_delivery(connector_id))


def _queue_delivery(connector_id: int) -> None:
    from django_q.tasks import async_task

    async_task("connectors.tasks.deliver_outbox", connector_id)
