"""The warehouse JSON API: stock counts in, shipping work out, shipments in.

Every endpoint but the schema takes ``Authorization: Bearer <token>``, the
token of one WarehouseIntegration, and acts only on that integration's
locations. The body size and the token are checked before the body is
parsed. Errors are JSON: ``{"error": {"code", "message", "details"}}``.
The endpoints are described in :mod:`inventory.openapi`.
"""

import hmac
import json
import logging
from datetime import timedelta
from functools import wraps

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from .models import Location, StockMovement, WarehouseIntegration, hash_token
from .stock import InvalidStockChange, StockCount, StockError, set_on_hand_many

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_ITEMS = 10_000
MAX_PAGE = 500


def error(status: int, code: str, message: str, details=None) -> JsonResponse:
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="warehouse"'
    return response


def authenticate(request) -> WarehouseIntegration | None:
    """Return the active integration whose token the request carries."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hash_token(token.strip())
    integration = WarehouseIntegration.objects.filter(
        token_hash=digest, active=True
    ).first()
    if integration is None or not hmac.compare_digest(integration.token_hash, digest):
        return None
    now = timezone.now()
    if integration.last_used_at is None or now - integration.last_used_at > timedelta(
        minutes=1
    ):
        WarehouseIntegration.objects.filter(pk=integration.pk).update(last_used_at=now)
    return integration


def warehouse_endpoint(*methods):
    """Check method, body size and token, in that order, before the view."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error(
                    405,
                    "method_not_allowed",
                    f"Use {' or '.join(methods)} on this endpoint.",
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error(400, "invalid_request", "Content-Length is not a number.")
            if length > MAX_BODY_BYTES:
                return error(
                    413,
                    "body_too_large",
                    f"The body is {length} bytes; the limit is {MAX_BODY_BYTES}. "
                    "Send the items in several requests.",
                )
            integration = authenticate(request)
            if integration is None:
                return error(
                    401,
                    "unauthorized",
                    "Missing or invalid token: send 'Authorization: Bearer "
                    "<token>' with the token of an active warehouse integration.",
                )
            request.integration = integration
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _json_body(request):
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error(400, "invalid_json", f"The body is not valid JSON: {exc}.")


def _location(request, code):
    """Return (location, None) if the integration may use it, else (None, error)."""
    if not isinstance(code, str) or not code.strip():
        return None, error(
            400, "invalid_request", "Give the location code in 'location'."
        )
    location = request.integration.locations.filter(code=code.strip()).first()
    if location is None:
        exists = Location.objects.filter(code=code.strip()).exists()
        if exists:
            return None, error(
                403,
                "forbidden_location",
                f"Location {code!r} is not linked to this integration; link it in "
                "the admin under Warehouse integrations.",
            )
        return None, error(404, "unknown_location", f"No location has code {code!r}.")
    return location, None


# Stock snapshot.


@warehouse_endpoint("POST")
def stock_snapshot(request):
    """Set on hand at one location from the warehouse's count, all or nothing."""
    body, failure = _json_body(request)
    if failure:
        return failure
    if not isinstance(body, dict):
        return error(400, "invalid_request", "The body must be a JSON object.")
    location, failure = _location(request, body.get("location"))
    if failure:
        return failure
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return error(400, "invalid_request", "'items' must be a non-empty list.")
    if len(items) > MAX_ITEMS:
        return error(
            413,
            "too_many_items",
            f"{len(items)} items; send at most {MAX_ITEMS} per request.",
        )
    counts, problems = _snapshot_counts(items, location)
    if problems:
        return error(
            422,
            "invalid_items",
            "Nothing was written: some items are invalid.",
            problems,
        )
    reference = str(body.get("reference") or "")[:150]
    try:
        result = set_on_hand_many(
            counts,
            reason=StockMovement.Reason.SNAPSHOT,
            reference=f"{request.integration.name}: {reference}".strip(": "),
        )
    except InvalidStockChange as exc:
        return error(
            409,
            "below_committed",
            "Nothing was written: some counts are below the units committed to orders.",
            exc.problems,
        )
    logger.info(
        "Warehouse integration %s: snapshot of %s, %d changed",
        request.integration.pk,
        location.code,
        result.changed,
    )
    return JsonResponse(
        {
            "location": location.code,
            "changed": result.changed,
            "unchanged": result.unchanged,
        }
    )


def _snapshot_counts(items, location):
    from catalog.models import Product

    skus = [item.get("sku") for item in items if isinstance(item, dict)]
    products = dict(
        Product.objects.filter(
            sku__in=[s for s in skus if isinstance(s, str)]
        ).values_list("sku", "pk")
    )
    problems = []
    counts = []
    seen = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append({"index": index, "message": "Each item must be an object."})
            continue
        sku = item.get("sku")
        on_hand = item.get("on_hand")
        if not isinstance(sku, str) or sku not in products:
            problems.append(
                {"index": index, "sku": sku, "message": "No product has this SKU."}
            )
            continue
        if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
            problems.append(
                {
                    "index": index,
                    "sku": sku,
                    "message": "'on_hand' must be a whole number, 0 or more.",
                }
            )
            continue
        if sku in seen:
            problems.append(
                {
                    "index": index,
                    "sku": sku,
                    "message": f"This SKU is already at index {seen[sku]}.",
                }
            )
            continue
        seen[sku] = index
        counts.append(StockCount(products[sku], location.pk, on_hand))
    return counts, problems


# Shipping work.


@warehouse_endpoint("GET")
def shipments(request):
    """List the orders waiting to ship from one location, oldest id first."""
    from orders.models import Allocation, Order

    location, failure = _location(request, request.GET.get("location"))
    if failure:
        return failure
    try:
        after = int(request.GET.get("after") or 0)
        limit = min(int(request.GET.get("limit") or 100), MAX_PAGE)
    except ValueError:
        return error(
            400, "invalid_request", "'after' and 'limit' must be whole numbers."
        )
    if limit < 1:
        return error(400, "invalid_request", "'limit' must be at least 1.")
    orders = list(
        Order.objects.filter(
            pk__gt=after,
            status__in=[Order.Status.ROUTED, Order.Status.PARTIALLY_FULFILLED],
            lines__allocations__location=location,
        )
        .distinct()
        .select_related("connector")
        .order_by("pk")[: limit + 1]
    )
    more = len(orders) > limit
    orders = orders[:limit]
    allocations = (
        Allocation.objects.filter(line__order__in=orders, location=location)
        .select_related("line__product")
        .order_by("line_id")
    )
    lines = {}
    for allocation in allocations:
        line = allocation.line
        lines.setdefault(line.order_id, []).append(
            {
                "line_id": line.pk,
                "sku": line.product.sku if line.product else line.seller_sku,
                "title": line.title,
                "quantity": allocation.quantity,
            }
        )
    return JsonResponse(
        {
            "location": location.code,
            "orders": [_shipment(order, lines.get(order.pk, [])) for order in orders],
            "next_after": orders[-1].pk if more else None,
        }
    )


def _shipment(order, lines) -> dict:
    return {
        "order_id": order.pk,
        "reference": order.reference or order.external_id,
        "channel": order.connector.kind,
        "placed_at": order.placed_at.isoformat(),
        "ship_to": {
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postal_code": order.ship_postal_code,
            "country_code": order.ship_country_code,
        },
        "lines": lines,
    }


# Shipments.


@warehouse_endpoint("POST")
def fulfillments(request):
    """Record a shipment from one of the integration's locations."""
    from orders.models import Fulfillment, Order

    body, failure = _json_body(request)
    if failure:
        return failure
    if not isinstance(body, dict):
        return error(400, "invalid_request", "The body must be a JSON object.")
    location, failure = _location(request, body.get("location"))
    if failure:
        return failure
    fields, problems = _fulfillment_fields(body)
    if problems:
        return error(
            422, "invalid_fulfillment", "The fulfillment is invalid.", problems
        )
    order = Order.objects.filter(pk=fields["order_id"]).first()
    if order is None or not _ships_from(order, location):
        return error(
            404,
            "unknown_order",
            f"No order {fields['order_id']} is waiting to ship from {location.code}.",
        )
    existing = Fulfillment.objects.filter(
        order=order, location=location, tracking_number=fields["tracking_number"]
    ).first()
    if existing is not None:
        return JsonResponse(_fulfillment_body(existing, order), status=200)
    return _create_fulfillment(request, order, location, fields)


def _ships_from(order, location) -> bool:
    return (
        order.location_id == location.pk
        or order.lines.filter(allocations__location=location).exists()
    )


def _fulfillment_fields(body):
    problems = []
    fields = {}
    order_id = body.get("order_id")
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        problems.append({"field": "order_id", "message": "Give the hub's order id."})
    fields["order_id"] = order_id
    for name in ("carrier", "tracking_number"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append({"field": name, "message": f"'{name}' is required."})
        fields[name] = (value or "").strip() if isinstance(value, str) else ""
    for name in ("service", "tracking_url"):
        value = body.get(name) or ""
        fields[name] = value.strip() if isinstance(value, str) else ""
    shipped_at = body.get("shipped_at")
    fields["shipped_at"] = None
    if shipped_at is not None:
        parsed = parse_datetime(shipped_at) if isinstance(shipped_at, str) else None
        if parsed is None or parsed.tzinfo is None:
            problems.append(
                {
                    "field": "shipped_at",
                    "message": "Use an ISO 8601 time with an offset, such as "
                    "2025-01-31T14:00:00Z.",
                }
            )
        fields["shipped_at"] = parsed
    quantities = {}
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        problems.append(
            {"field": "lines", "message": "'lines' must be a non-empty list."}
        )
        lines = []
    for index, line in enumerate(lines):
        line_id = line.get("line_id") if isinstance(line, dict) else None
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if (
            not isinstance(line_id, int)
            or not isinstance(quantity, int)
            or quantity < 1
        ):
            problems.append(
                {
                    "field": f"lines[{index}]",
                    "message": "Each line needs an integer 'line_id' and a "
                    "'quantity' of 1 or more.",
                }
            )
            continue
        quantities[line_id] = quantities.get(line_id, 0) + quantity
    fields["quantities"] = quantities
    return fields, problems


def _create_fulfillment(request, order, location, fields):
    from orders.fulfillment import FulfillmentError, ShipmentDetails, create_fulfillment

    details = ShipmentDetails(
        carrier=fields["carrier"],
        tracking_number=fields["tracking_number"],
        service=fields["service"],
        tracking_url=fields["tracking_url"],
        shipped_at=fields["shipped_at"],
    )
    try:
        with transaction.atomic():
            fulfillment = create_fulfillment(
                order, location, details, fields["quantities"]
            )
    except (FulfillmentError, StockError) as exc:
        return error(409, "rejected", str(exc))
    order.refresh_from_db(fields=["status"])
    logger.info(
        "Warehouse integration %s: fulfillment %s of order %s",
        request.integration.pk,
        fulfillment.pk,
        order.pk,
    )
    return JsonResponse(_fulfillment_body(fulfillment, order), status=201)


def _fulfillment_body(fulfillment, order) -> dict:
    return {
        "fulfillment_id": fulfillment.pk,
        "reference": fulfillment.reference,
        "order_id": order.pk,
        "order_status": order.status,
    }


def openapi_schema(request):
    """Serve the API's OpenAPI 3.1 description (no token needed)."""
    from .openapi import SCHEMA

    return JsonResponse(SCHEMA)
