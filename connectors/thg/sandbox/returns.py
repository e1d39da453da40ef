"""Returns on the fake marketplace: from THG customers and from the hub.

A return may take back at most what was dispatched and not already
returned. ``SandboxOrderLine.returned_quantity`` counts the quantity held by
returns that are not cancelled or rejected.
"""

import datetime as dt
import logging
import random
import uuid

from django.db import transaction
from django.utils import timezone

from .errors import APIError, SandboxError, conflict, not_found, validation_error
from .formats import format_time, next_update_time, whole_second
from .generator import RETURN_REASONS, return_line_choice
from .models import SandboxAccount, SandboxOrder, SandboxOrderLine, SandboxReturn
from .orders import get_order
from .validation import (
    line_items,
    optional_string,
    optional_time,
    require_object,
    required_string,
)

logger = logging.getLogger(__name__)

REQUESTED = "REQUESTED"
APPROVED = "APPROVED"
IN_TRANSIT = "IN_TRANSIT"
RECEIVED = "RECEIVED"
REFUNDED = "REFUNDED"
REJECTED = "REJECTED"
CANCELLED = "CANCELLED"
STATUSES = (REQUESTED, APPROVED, IN_TRANSIT, RECEIVED, REFUNDED, REJECTED, CANCELLED)
RECEIVABLE_STATUSES = (REQUESTED, APPROVED, IN_TRANSIT)
#: Statuses that give the returned quantity back to the order lines.
RELEASING_STATUSES = (REJECTED, CANCELLED)
CONDITIONS = ("GOOD", "DAMAGED")

#: Return ids are ``R-`` and this number plus the row's primary key.
RETURN_NUMBER_BASE = 5520


def get_return(account: SandboxAccount, return_id: str) -> SandboxReturn:
    """Return the account's return ``return_id`` or raise a 404 APIError."""
    found = SandboxReturn.objects.filter(account=account, return_id=return_id).first()
    if found is None:
        raise not_found(f"No return has id {return_id!r}. Check the return id.")
    return found


def _lock_lines(order: SandboxOrder) -> list[SandboxOrderLine]:
    SandboxOrder.objects.select_for_update().filter(pk=order.pk).first()
    return list(order.lines.select_for_update().order_by("pk"))


def _check_returnable(
    request_lines: list[dict], lines: list[SandboxOrderLine]
) -> dict[str, int]:
    """Return the quantity per line id, or raise 400 for an unknown line or a
    quantity over what was dispatched and not yet returned."""
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
        returnable = line.dispatched_quantity - line.returned_quantity
        if requested[line_id] > returnable:
            raise validation_error(
                f"/lines/{index}/quantity",
                f"Line {line_id} has {returnable} that can be returned "
                f"(dispatched {line.dispatched_quantity}, already returned "
                f"{line.returned_quantity}); {requested[line_id]} is more than that.",
            )
    return requested


def _store_return(
    account: SandboxAccount,
    order: SandboxOrder,
    request_lines: list[dict],
    *,
    reason: str,
    status: str,
    return_reference: str | None = None,
    request: dict | None = None,
    created_at: dt.datetime | None = None,
) -> SandboxReturn:
    """Check the quantities and store a return; call inside a transaction.

    ``request_lines`` are ``{"line_id", "quantity", "reason"}`` objects.
    """
    lines = _lock_lines(order)
    requested = _check_returnable(request_lines, lines)
    by_id = {line.line_id: line for line in lines}
    for line in lines:
        if line.line_id in requested:
            line.returned_quantity += requested[line.line_id]
            line.save(update_fields=["returned_quantity"])

    created_at = whole_second(created_at or timezone.now())
    record = SandboxReturn.objects.create(
        account=account,
        order=order,
        return_id=f"pending-{uuid.uuid4().hex}",
        status=status,
        payload={},
        return_reference=return_reference,
        request=request,
        created_at=created_at,
        updated_at=created_at,
    )
    record.return_id = f"R-{RETURN_NUMBER_BASE + record.pk}"
    record.payload = {
        "id": record.return_id,
        "order_id": order.order_id,
        "status": status,
        "reason": reason,
        "created_at": format_time(created_at),
        "updated_at": format_time(created_at),
        "lines": [
            {
                "line_id": line["line_id"],
                "upc": by_id[line["line_id"]].upc,
                "quantity": line["quantity"],
                "reason": line.get("reason") or reason,
                "condition": None,
            }
            for line in request_lines
        ],
        "return_reference": return_reference,
        "receipt_reference": None,
    }
    record.save(update_fields=["return_id", "payload"])
    return record


def _save_return(record: SandboxReturn, status: str) -> None:
    record.status = status
    record.updated_at = next_update_time(record.updated_at)
    record.payload["status"] = status
    record.payload["updated_at"] = format_time(record.updated_at)
    record.save()


def create_return(
    account: SandboxAccount,
    order_id: str,
    lines: list[tuple],
    *,
    reason: str = "Changed mind",
    status: str = REQUESTED,
    created_at: dt.datetime | None = None,
) -> SandboxReturn:
    """Create a return that a THG customer asked for.

    ``lines`` are ``(line_id, quantity)`` or ``(line_id, quantity, reason)``
    tuples. Raises SandboxError for an unknown order or line, or a quantity
    over what was dispatched and not yet returned.
    """
    if status not in STATUSES:
        raise SandboxError(f"Unknown return status {status!r}: use one of {STATUSES}.")
    request_lines = [
        {
            "line_id": str(line[0]),
            "quantity": int(line[1]),
            "reason": line[2] if len(line) > 2 else reason,
        }
        for line in lines
    ]
    try:
        order = get_order(account, order_id)
        with transaction.atomic():
            record = _store_return(
                account,
                order,
                request_lines,
                reason=reason,
                status=status,
                created_at=created_at,
            )
    except APIError as error:
        raise SandboxError(error.detail) from None
    logger.info(
        "THG sandbox order %s: return %s created", order.order_id, record.return_id
    )
    return record


def _normalize_hub_return(body) -> dict:
    body = require_object(body)
    reference = required_string(body, "return_reference")
    order_id = required_string(body, "order_id", max_length=40)
    lines = line_items(body)
    for index, line in enumerate(lines):
        if line.get("reason") is not None and not isinstance(line["reason"], str):
            raise validation_error(
                f"/lines/{index}/reason", f"Line {index} reason must be a string."
            )
    return {
        "return_reference": reference,
        "order_id": order_id,
        "reason": optional_string(body, "reason"),
        "lines": sorted(
            (
                {
                    "line_id": line["line_id"],
                    "quantity": line["quantity"],
                    "reason": line.get("reason") or "",
                }
                for line in lines
            ),
            key=lambda line: (line["line_id"], line["quantity"], line["reason"]),
        ),
    }


def create_return_from_hub(account: SandboxAccount, body) -> tuple[dict, int]:
    """Store a return the hub posted; return the return object and status.

    The return starts APPROVED, because the merchant created it. Returns 201
    for a new ``return_reference`` and 200 with the stored return for the same
    reference and content. Raises 409 for the same reference with other
    content, 404 for an unknown order and 400 for invalid quantities.
    """
    request = _normalize_hub_return(body)
    reference = request["return_reference"]
    with transaction.atomic():
        existing = SandboxReturn.objects.filter(
            account=account, return_reference=reference
        ).first()
        if existing is not None:
            if existing.request != request:
                raise conflict(
                    f"return_reference {reference!r} was already used with "
                    "different content. Send the original content, or use a "
                    "new reference for a new return.",
                    pointer="/return_reference",
                )
            return existing.payload, 200

        try:
            order = get_order(account, request["order_id"])
        except APIError as error:
            error.pointer = "/order_id"
            raise
        record = _store_return(
            account,
            order,
            request["lines"],
            reason=request["reason"] or RETURN_REASONS[0],
            status=APPROVED,
            return_reference=reference,
            request=request,
        )
    logger.info(
        "THG sandbox order %s: return %s created by the hub as %s",
        order.order_id,
        record.return_id,
        reference,
    )
    return record.payload, 201


def _normalize_receipt(record: SandboxReturn, body) -> dict:
    body = require_object(body)
    reference = required_string(body, "receipt_reference")
    received_at = optional_time(body, "received_at")
    lines = line_items(body)
    returned = {line["line_id"]: line["quantity"] for line in record.payload["lines"]}
    for index, line in enumerate(lines):
        if line["line_id"] not in returned:
            raise validation_error(
                f"/lines/{index}/line_id",
                f"Return {record.return_id} has no line {line['line_id']!r}. Use "
                "a line id from the return's lines.",
            )
        if line["quantity"] > returned[line["line_id"]]:
            raise validation_error(
                f"/lines/{index}/quantity",
                f"Line {line['line_id']} of return {record.return_id} has "
                f"{returned[line['line_id']]} to receive; {line['quantity']} is "
                "more than that.",
            )
        if line.get("condition") not in CONDITIONS:
            raise validation_error(
                f"/lines/{index}/condition",
                f"Line {index} condition {line.get('condition')!r} is invalid. "
                f"Use one of {', '.join(CONDITIONS)}.",
            )
    return {
        "return_id": record.return_id,
        "receipt_reference": reference,
        "received_at": format_time(received_at) if received_at else None,
        "lines": sorted(
            (
                {
                    "line_id": line["line_id"],
                    "quantity": line["quantity"],
                    "condition": line["condition"],
                }
                for line in lines
            ),
            key=lambda line: (line["line_id"], line["quantity"], line["condition"]),
        ),
    }


def receive(account: SandboxAccount, return_id: str, body) -> dict:
    """Record the hub's receipt of a return and return it, now RECEIVED.

    The same ``receipt_reference`` with the same content returns the return
    unchanged. Raises 409 for a reused reference with other content, for a
    return already received under another reference and for a return in a
    status that cannot be received.
    """
    record = get_return(account, return_id)
    request = _normalize_receipt(record, body)
    reference = request["receipt_reference"]
    with transaction.atomic():
        record = SandboxReturn.objects.select_for_update().get(pk=record.pk)
        if record.receipt_reference == reference:
            if record.receipt_request != request:
                raise conflict(
                    f"receipt_reference {reference!r} was already used with "
                    "different content. Send the original content, or use a "
                    "new reference.",
                    pointer="/receipt_reference",
                )
            return record.payload
        if record.receipt_reference:
            raise conflict(
                f"Return {return_id} was already received with receipt "
                f"reference {record.receipt_reference!r}.",
                pointer="/receipt_reference",
            )
        if record.status not in RECEIVABLE_STATUSES:
            raise conflict(
                f"Return {return_id} is {record.status}, so it cannot be "
                f"received. Only {', '.join(RECEIVABLE_STATUSES)} returns can.",
            )

        conditions = {line["line_id"]: line["condition"] for line in request["lines"]}
        for line in record.payload["lines"]:
            if line["line_id"] in conditions:
                line["condition"] = conditions[line["line_id"]]
        record.payload["receipt_reference"] = reference
        record.receipt_reference = reference
        record.receipt_request = request
        _save_return(record, RECEIVED)
    logger.info("THG sandbox return %s: received as %s", return_id, reference)
    return record.payload


def update_return_status(
    account: SandboxAccount, return_id: str, status: str
) -> SandboxReturn:
    """Move a return to ``status`` as THG would, e.g. APPROVED or REFUNDED.

    REJECTED and CANCELLED give the quantity back to the order lines, so it
    can be returned again.
    """
    if status not in STATUSES:
        raise SandboxError(f"Unknown return status {status!r}: use one of {STATUSES}.")
    try:
        record = get_return(account, return_id)
    except APIError as error:
        raise SandboxError(error.detail) from None
    with transaction.atomic():
        record = SandboxReturn.objects.select_for_update().get(pk=record.pk)
        releasing = (
            status in RELEASING_STATUSES and record.status not in RELEASING_STATUSES
        )
        if releasing:
            lines = {line.line_id: line for line in _lock_lines(record.order)}
            for returned in record.payload["lines"]:
                line = lines[returned["line_id"]]
                line.returned_quantity -= returned["quantity"]
                line.save(update_fields=["returned_quantity"])
        _save_return(record, status)
    logger.info("THG sandbox return %s: status %s", return_id, status)
    return record


def returnable_lines(order: SandboxOrder) -> list[tuple[str, str, int]]:
    """Return ``(line_id, upc, quantity)`` for every line with some returnable."""
    lines = sorted(order.lines.all(), key=lambda line: line.pk)
    return [
        (line.line_id, line.upc, line.dispatched_quantity - line.returned_quantity)
        for line in lines
        if line.dispatched_quantity > line.returned_quantity
    ]


def generate_returns(
    account: SandboxAccount, count: int, *, seed: int | None = None
) -> list[SandboxReturn]:
    """Create up to ``count`` customer returns for dispatched orders.

    Each return takes back part of one dispatched line of a different order,
    picked with ``seed``. Fewer are created when fewer orders have something
    left to return.
    """
    rng = random.Random(seed)
    candidates = []
    orders = account.orders.exclude(status="CANCELLED").prefetch_related("lines")
    for order in orders.order_by("pk"):
        returnable = returnable_lines(order)
        if returnable:
            candidates.append((order, returnable))
    picked = rng.sample(candidates, min(count, len(candidates)))
    created = []
    for order, returnable in picked:
        line_id, _upc, quantity, reason = return_line_choice(rng, returnable)
        created.append(
            create_return(account, order.order_id, [(line_id, quantity)], reason=reason)
        )
    return created
