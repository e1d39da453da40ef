"""THG payloads to hub records and back. Pure functions: no database."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from connectors.records import (
    Address,
    OrderLineRecord,
    OrderRecord,
    ReturnLineRecord,
    ReturnRecord,
    StockItemResult,
)

CANCELLED = "CANCELLED"
# Order statuses in the order THG moves through them; an update never
# takes an order back to an earlier one.
ORDER_STATUS_RANK = {
    "NEW": 0,
    "ACKNOWLEDGED": 1,
    "PARTIALLY_DISPATCHED": 2,
    "DISPATCHED": 3,
    "CANCELLED": 4,
}
RETURN_STATUS_RANK = {
    "REQUESTED": 0,
    "APPROVED": 1,
    "REJECTED": 1,
    "IN_TRANSIT": 2,
    "RECEIVED": 3,
    "REFUNDED": 4,
    "CANCELLED": 4,
}


def parse_time(value: str) -> datetime:
    """Parse THG's RFC 3339 time (``2026-11-30T10:15:00Z``) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(value: datetime) -> str:
    """Format an aware datetime as THG's RFC 3339 UTC form."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_money(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def order_from_payload(payload: dict) -> OrderRecord:
    """Map one THG order to an :class:`OrderRecord`."""
    address = payload.get("shipping_address") or {}
    totals = payload.get("totals") or {}
    customer = payload.get("customer") or {}
    lines = tuple(
        OrderLineRecord(
            external_id=str(line["id"]),
            quantity=int(line["quantity"]),
            upc=str(line.get("upc") or "").strip(),
            channel_sku=str(line.get("sku") or "").strip(),
            title=line.get("title") or "",
            unit_price=parse_money(line.get("unit_price")),
            cancelled=line.get("status") == CANCELLED,
        )
        for line in payload.get("lines", [])
    )
    status = payload["status"]
    return OrderRecord(
        external_id=str(payload["id"]),
        reference=payload.get("reference") or "",
        channel_status=status,
        placed_at=parse_time(payload["created_at"]),
        updated_at=parse_time(payload["updated_at"]),
        currency=payload.get("currency") or "",
        subtotal=parse_money(totals.get("subtotal")),
        shipping_total=parse_money(totals.get("shipping")),
        total=parse_money(totals.get("total")),
        customer_name=customer.get("name") or "",
        customer_email=customer.get("email") or "",
        address=Address(
            name=address.get("name") or "",
            line1=address.get("line1") or "",
            line2=address.get("line2") or "",
            city=address.get("city") or "",
            region=address.get("county") or "",
            postal_code=address.get("postcode") or "",
            country_code=address.get("country_code") or "",
        ),
        cancelled=status == CANCELLED,
        shipped=status == "DISPATCHED",
        lines=lines,
        raw=payload,
    )


def return_from_payload(payload: dict) -> ReturnRecord:
    """Map one THG return to a :class:`ReturnRecord`."""
    return ReturnRecord(
        external_id=str(payload["id"]),
        order_external_id=str(payload["order_id"]),
        channel_status=payload["status"],
        reason=payload.get("reason") or "",
        created_at=parse_time(payload["created_at"]),
        updated_at=parse_time(payload["updated_at"]),
        lines=tuple(
            ReturnLineRecord(
                order_line_external_id=str(line["line_id"]),
                quantity=int(line["quantity"]),
                upc=line.get("upc") or "",
                reason=line.get("reason") or "",
                condition=line.get("condition") or "",
            )
            for line in payload.get("lines", [])
        ),
        raw=payload,
    )


def dispatch_payload(fulfillment, warehouse_id: str) -> dict:
    """Build the body of ``POST /v1/orders/{id}/dispatches`` for a fulfillment.

    ``fulfillment.lines`` must be prefetched with their order lines.
    """
    payload = {
        "dispatch_reference": fulfillment.reference,
        "warehouse_id": warehouse_id,
        "carrier": fulfillment.carrier,
        "service": fulfillment.service,
        "tracking_number": fulfillment.tracking_number,
        "dispatched_at": format_time(fulfillment.shipped_at),
        "lines": [
            {"line_id": line.line.external_id, "quantity": line.quantity}
            for line in fulfillment.lines.all()
        ],
    }
    if fulfillment.tracking_url:
        payload["tracking_url"] = fulfillment.tracking_url
    return payload


def stock_results(results: list[dict]) -> list[StockItemResult]:
    """Map the per-item results of ``PUT /v1/stock``."""
    mapped = []
    for result in results:
        error = result.get("error") or {}
        mapped.append(
            StockItemResult(
                identifier=result["upc"],
                accepted=result.get("status") == "ACCEPTED",
                error_code=error.get("code", ""),
                error_detail=error.get("detail", ""),
            )
        )
    return mapped


def parse_location_pairs(text: str) -> list[tuple[str, str]]:
    """Parse ``name:id`` pairs, one per line or comma-separated.

    Raises ``ValueError`` listing every bad pair: missing colon, empty name
    or id, a repeated id or a repeated name.
    """
    problems = []
    pairs = []
    seen_ids: dict[str, str] = {}
    seen_names: dict[str, str] = {}
    entries = [part.strip() for part in text.replace("\n", ",").split(",")]
    for entry in (part for part in entries if part):
        if ":" not in entry:
            problems.append(f"{entry!r} has no colon; write it as name:id.")
            continue
        name, _, external_id = (piece.strip() for piece in entry.partition(":"))
        if not name:
            problems.append(f"{entry!r} has an empty name.")
            continue
        if not external_id:
            problems.append(f"{entry!r} has an empty id.")
            continue
        if external_id in seen_ids:
            problems.append(
                f"{entry!r} repeats id {external_id!r} (already given to "
                f"{seen_ids[external_id]!r})."
            )
            continue
        if name.casefold() in seen_names:
            problems.append(f"{entry!r} repeats the name {name!r}.")
            continue
        seen_ids[external_id] = name
        seen_names[name.casefold()] = external_id
        pairs.append((name, external_id))
    if problems:
        raise ValueError(" ".join(problems))
    return pairs
