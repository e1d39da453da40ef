"""``PUT /v1/stock``: absolute quantities per UPC, with a result per item."""

import logging

from django.db import transaction
from django.utils import timezone

from .errors import APIError, validation_error
from .formats import gtin14, is_upc_text
from .models import SandboxAccount, SandboxListing, SandboxStockUpdate
from .validation import is_whole_number, require_object

logger = logging.getLogger(__name__)

MAX_ITEMS = 500
MAX_QUANTITY = 99999


def _check_items(body) -> list[dict]:
    body = require_object(body)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise validation_error(
            "/items", "items is missing or empty. Send at least one item."
        )
    if len(items) > MAX_ITEMS:
        raise validation_error(
            "/items",
            f"items has {len(items)} entries; the maximum is {MAX_ITEMS}. Split "
            "the update into several calls.",
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise validation_error(
                f"/items/{index}", f"Item {index} must be a JSON object."
            )
        if not is_upc_text(item.get("upc")):
            raise validation_error(
                f"/items/{index}/upc",
                f"Item {index} upc {item.get('upc')!r} is invalid. Send the UPC "
                "as a string of 8 to 14 digits.",
            )
        quantity = item.get("quantity")
        if not is_whole_number(quantity) or not 0 <= quantity <= MAX_QUANTITY:
            raise validation_error(
                f"/items/{index}/quantity",
                f"Item {index} quantity {quantity!r} is out of range. Send a "
                f"whole number from 0 to {MAX_QUANTITY}.",
            )
    return items


def log_rejected_call(account: SandboxAccount, body) -> None:
    """Log a stock call that was rejected as a whole with 400."""
    sent = body.get("items") if isinstance(body, dict) else None
    SandboxStockUpdate.objects.create(
        account=account,
        items=sent if isinstance(sent, list) else [],
        status_code=400,
    )
    logger.warning("THG sandbox account %s: stock update rejected with 400", account)


def update_stock(account: SandboxAccount, body) -> dict:
    """Apply a stock update and return ``{"results": [...]}``, one per item.

    Items whose UPC matches a listing (compared as GTIN-14) are ACCEPTED and
    set the listing's quantity; the others are REJECTED as UnknownProduct.
    Every call is logged, including one rejected with 400 as a whole.
    """
    try:
        items = _check_items(body)
    except APIError:
        log_rejected_call(account, body)
        raise

    with transaction.atomic():
        listings = {
            listing.gtin14: listing
            for listing in SandboxListing.objects.select_for_update()
            .filter(account=account, gtin14__in={gtin14(i["upc"]) for i in items})
            .order_by("pk")
        }
        now = timezone.now()
        results = []
        for item in items:
            listing = listings.get(gtin14(item["upc"]))
            if listing is None:
                results.append(
                    {
                        "upc": item["upc"],
                        "status": "REJECTED",
                        "error": {
                            "code": "UnknownProduct",
                            "detail": "No listing has this UPC",
                        },
                    }
                )
                continue
            listing.last_quantity = item["quantity"]
            listing.pushed_at = now
            results.append({"upc": item["upc"], "status": "ACCEPTED"})
        SandboxListing.objects.bulk_update(
            [listing for listing in listings.values() if listing.pushed_at == now],
            ["last_quantity", "pushed_at"],
        )
        accepted = sum(1 for result in results if result["status"] == "ACCEPTED")
        SandboxStockUpdate.objects.create(
            account=account,
            items=items,
            results=results,
            status_code=200,
            accepted_count=accepted,
            rejected_count=len(results) - accepted,
        )
    logger.info(
        "THG sandbox account %s: stock update with %s accepted, %s rejected",
        account,
        accepted,
        len(results) - accepted,
    )
    return {"results": results}
