"""Orders on the fake marketplace: creation, acknowledgement, dispatches and
cancellations.

The stored ``payload`` is the order exactly as the API returns it. Every
change goes through :func:`_save_order`, which copies the status, times and
lines back into the payload, so the columns and the payload never disagree.
"""

import datetime as dt
import logging
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .errors import APIError, SandboxError, conflict, not_found, validation_error
from .formats import format_time, money, next_update_time, whole_second
from .generator import GeneratedLine, totals
from .models import (
    SandboxAccount,
    SandboxDispatch,
    SandboxOrder,
    SandboxOrderLine,
    SandboxWarehouse,
)
from .validation import (
    line_items,
    optional_string,
    optional_time,
    require_object,
    required_string,
)

logger = logging.getLogger(__name__)

NEW = "NEW"
ACKNOWLEDGED = "ACKNOWLEDGED"
PARTIALLY_DISPATCHED = "PARTIALLY_DISPATCHED"
DISPATCHED = "DISPATCHED"
CANCELLED = "CANCELLED"
LINE_OPEN = "OPEN"
LINE_CANCELLED = "CANCELLED"

#: Order ids are this number plus the row's primary key, as numeric strings.
ORDER_ID_BASE = 100245870
DISPATCH_ID_BASE = 70000000


def create_order(
    account: SandboxAccount,
    *,
    customer: dict,
    address: dict,
    lines: list[GeneratedLine],
    created_at: dt.datetime | None = None,
    currency: str = "GBP",
) -> SandboxOrder:
    """Store a new order in status NEW and return it."""
    created_at = whole_second(created_at or timezone.now())
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    with transaction.atomic():
        # The id comes from the primary key, which exists only after the
        # insert: a unique placeholder fills the column until then.
        order = SandboxOrder.objects.create(
            account=account,
            order_id=f"pending-{uuid.uuid4().hex}",
            status=NEW,
            payload={},
            created_at=created_at,
            updated_at=created_at,
        )
        order.order_id = str(ORDER_ID_BASE + order.pk)
        order.payload = {
            "id": order.order_id,
            "reference": f"THG-{order.order_id}",
            "status": NEW,
            "created_at": format_time(created_at),
            "updated_at": format_time(created_at),
            "currency": currency,
            "customer": customer,
            "shipping_address": address,
            "lines": [_line_payload(line) for line in lines],
            "totals": totals(subtotal),
        }
        order.save(update_fields=["order_id", "payload"])
        SandboxOrderLine.objects.bulk_create(
            SandboxOrderLine(
                order=order,
                line_id=line.line_id,
                upc=line.upc,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in lines
        )
    return order


def _line_payload(line: GeneratedLine) -> dict:
    return {
        "id": line.line_id,
        "upc": line.upc,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": money(line.unit_price),
        "status": LINE_OPEN,
    }


def get_order(account: SandboxAccount, order_id: str) -> SandboxOrder:
    """Return the account's order ``order_id`` or raise a 404 APIError."""
    order = SandboxOrder.objects.filter(account=account, order_id=order_id).first()
    if order is None:
        raise not_found(f"No order has id {order_id!r}. Check the order id.")
    return order


def _lock_order(order: SandboxOrder) -> tuple[SandboxOrder, list[SandboxOrderLine]]:
    """Lock the order row, then its lines in primary key order."""
    locked = SandboxOrder.objects.select_for_update().get(pk=order.pk)
    lines = list(locked.lines.select_for_update().order_by("pk"))
    return locked, lines


def _derived_status(current: str, lines: list[SandboxOrderLine]) -> str:
    open_lines = [line for line in lines if line.status == LINE_OPEN]
    if not open_lines:
        return CANCELLED
    if all(line.dispatched_quantity >= line.quantity for line in open_lines):
        return DISPATCHED
    if any(line.dispatched_quantity for line in lines):
        return PARTIALLY_DISPATCHED
    return current


def _save_order(
    order: SandboxOrder, lines: list[SandboxOrderLine], status: str
) -> None:
    """Set the status, move ``updated_at`` and copy both into the payload."""
    order.status = status
    order.updated_at = next_update_time(order.updated_at)
    payload = order.payload
    payload["status"] = status
    payload["updated_at"] = format_time(order.updated_at)
    line_statuses = {line.line_id: line.status for line in lines}
    for line_payload in payload["lines"]:
        line_payload["status"] = line_statuses[line_payload["id"]]
    order.save(update_fields=["status", "updated_at", "payload", "acknowledged_at"])
    for line in lines:
        line.save(update_fields=["dispatched_quantity", "returned_quantity", "status"])


def acknowledge(account: SandboxAccount, order_id: str) -> None:
    """Move a NEW order to ACKNOWLEDGED; any other status stays as it is."""
    order = get_order(account, order_id)
    with transaction.atomic():
        order, lines = _lock_order(order)
        if order.status != NEW:
            return
        order.acknowledged_at = timezone.now()
        _save_order(order, lines, ACKNOWLEDGED)
    logger.info("THG sandbox order %s: acknowledged", order.order_id)


def _normalize_dispatch(order_id: str, body) -> dict:
    """Check a dispatch request and return it in the form dispatches compare."""
    body = require_object(body)
    reference = required_string(body, "dispatch_reference")
    warehouse_id = required_string(body, "warehouse_id", max_length=100)
    carrier = required_string(body, "carrier", max_length=100)
    dispatched_at = optional_time(body, "dispatched_at")
    lines = line_items(body)
    return {
        "order_id": order_id,
        "dispatch_reference": reference,
        "warehouse_id": warehouse_id,
        "carrier": carrier,
        "service": optional_string(body, "service", 100),
        "tracking_number": optional_string(body, "tracking_number", 100),
        "tracking_url": optional_string(body, "tracking_url"),
        "dispatched_at": format_time(dispatched_at) if dispatched_at else None,
        "lines": [
            {"line_id": line["line_id"], "quantity": line["quantity"]} for line in lines
        ],
    }


def _comparable(request: dict) -> dict:
    return {**request, "lines": sorted(request["lines"], key=_line_sort_key)}


def _line_sort_key(line: dict) -> tuple[str, int]:
    return line["line_id"], line["quantity"]


def _check_open_quantities(
    request_lines: list[dict], lines: list[SandboxOrderLine]
) -> dict[str, int]:
    """Return the quantity per line id, or raise 400 for an unknown line or a
    quantity over what is still open."""
    by_id = {line.line_id: line for line in lines}
    requested: dict[str, int] = {}
    for index, request_line in enumerate(request_lines):
        line_id = request_line["line_id"]
        line = by_id.get(line_id)
        if line is None:
            raise validation_error(
                f"/lines/{index}/line_id",
                f"The order has no line {line_id!r}. Use a line id from the "
                "order's lines.",
            )
        requested[line_id] = requested.get(line_id, 0) + request_line["quantity"]
        if requested[line_id] > line.open_quantity:
            raise validation_error(
                f"/lines/{index}/quantity",
                f"Line {line_id} has {line.open_quantity} open to dispatch "
                f"(ordered {line.quantity}, dispatched {line.dispatched_quantity}, "
                f"status {line.status}); {requested[line_id]} is more than that.",
            )
    return requested


def dispatch(account: SandboxAccount, order_id: str, body) -> tuple[dict, int]:
    """Record a dispatch and return the dispatch object and the status code.

    Returns 201 for a new ``dispatch_reference`` and 200 with the stored
    dispatch when the same reference arrives with the same content. Raises
    409 for the same reference with other content, 404 for an unknown order
    or warehouse and 400 for quantities over the open quantity. Locks the
    order and its lines while it checks and writes.
    """
    order = get_order(account, order_id)
    request = _normalize_dispatch(order.order_id, body)
    reference = request["dispatch_reference"]

    with transaction.atomic():
        order, lines = _lock_order(order)
        existing = SandboxDispatch.objects.filter(
            account=account, dispatch_reference=reference
        ).first()
        if existing is not None:
            return _replay(existing, request, "dispatch_reference"), 200

        if not SandboxWarehouse.objects.filter(
            account=account, warehouse_id=request["warehouse_id"]
        ).exists():
            raise not_found(
                f"No warehouse has id {request['warehouse_id']!r}. Use an id "
                "from GET /v1/warehouses.",
                pointer="/warehouse_id",
            )
        requested = _check_open_quantities(request["lines"], lines)

        for line in lines:
            line.dispatched_quantity += requested.get(line.line_id, 0)
        _save_order(order, lines, _derived_status(order.status, lines))
        record = SandboxDispatch.objects.create(
            account=account,
            order=order,
            dispatch_id=f"pending-{uuid.uuid4().hex}",
            dispatch_reference=reference,
            request=_comparable(request),
            response={},
        )
        record.dispatch_id = str(DISPATCH_ID_BASE + record.pk)
        record.response = {
            "id": record.dispatch_id,
            **request,
            "dispatched_at": request["dispatched_at"] or format_time(record.created_at),
            "created_at": format_time(record.created_at),
        }
        record.save(update_fields=["dispatch_id", "response"])

    logger.info(
        "THG sandbox order %s: dispatch %s recorded, order now %s",
        order.order_id,
        reference,
        order.status,
    )
    return record.response, 201


def _replay(existing, request: dict, reference_field: str) -> dict:
    """Return the stored response of a repeated request, or raise 409."""
    if existing.request != _comparable(request):
        raise conflict(
            f"{reference_field} {request[reference_field]!r} was already used "
            "with different content. Send the original content, or use a new "
            "reference for a new request.",
            pointer=f"/{reference_field}",
        )
    return existing.response


def cancel_order(account: SandboxAccount, order_id: str) -> SandboxOrder:
    """Cancel every line of an order that has nothing dispatched.

    Raises SandboxError when a line has been dispatched: cancel the open
    lines one by one with :func:`cancel_line` instead.
    """
    order = _setup_order(account, order_id)
    with transaction.atomic():
        order, lines = _lock_order(order)
        dispatched = [line.line_id for line in lines if line.dispatched_quantity]
        if dispatched:
            raise SandboxError(
                f"Order {order_id} has dispatched lines {dispatched}; cancel "
                "its open lines with cancel_line instead."
            )
        for line in lines:
            line.status = LINE_CANCELLED
        _save_order(order, lines, CANCELLED)
    logger.info("THG sandbox order %s: cancelled", order_id)
    return order


def cancel_line(account: SandboxAccount, order_id: str, line_id: str) -> SandboxOrder:
    """Cancel one undispatched line and recompute the order's totals.

    The order becomes CANCELLED when no line is left open, and then keeps its
    last totals. It becomes DISPATCHED when every line left open is fully
    dispatched.
    """
    order = _setup_order(account, order_id)
    with transaction.atomic():
        order, lines = _lock_order(order)
        line = next((line for line in lines if line.line_id == line_id), None)
        if line is None:
            raise SandboxError(f"Order {order_id} has no line {line_id!r}.")
        if line.dispatched_quantity:
            raise SandboxError(
                f"Line {line_id} of order {order_id} has "
                f"{line.dispatched_quantity} dispatched, so it cannot be "
                "cancelled."
            )
        line.status = LINE_CANCELLED
        subtotal = sum(
            (
                item.unit_price * item.quantity
                for item in lines
                if item.status == LINE_OPEN
            ),
            Decimal(0),
        )
        if subtotal:
            order.payload["totals"] = totals(subtotal)
        _save_order(order, lines, _derived_status(order.status, lines))
    logger.info("THG sandbox order %s: line %s cancelled", order_id, line_id)
    return order


def _setup_order(account: SandboxAccount, order_id: str) -> SandboxOrder:
    try:
        return get_order(account, order_id)
    except APIError as error:
        raise SandboxError(error.detail) from None
