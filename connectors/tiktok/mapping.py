"""TikTok Shop payloads to the hub's records and back, with no database access.

Ids stay strings (TikTok's are 18-19 digits, above 2**53) and money becomes
Decimal. TikTok order line items carry no quantity: each line item is one
unit, so a SKU's quantity is the number of line items with its ``sku_id``,
unless a payload does carry a ``quantity``.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.html import escape

from connectors.records import (
    Address,
    OrderLineRecord,
    OrderRecord,
    ReturnLineRecord,
    ReturnRecord,
    StockItemResult,
)

NOT_ROUTABLE_STATUSES = frozenset({"UNPAID", "ON_HOLD"})
#: Statuses of an order whose every package has left the seller.
SHIPPED_STATUSES = frozenset(
    {"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"}
)
# The order API uses CANCELLED, but the order status webhook documents CANCEL.
CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCEL"})
CANCELLED_LINE_STATUSES = frozenset({"CANCELLED", "CANCEL"})
FULFILLED_BY_TIKTOK = "FULFILLMENT_BY_TIKTOK"

#: The order in which a TikTok order moves; a lower rank never replaces a higher.
ORDER_STATUS_RANKS = {
    "UNPAID": 0,
    "ON_HOLD": 1,
    "AWAITING_SHIPMENT": 2,
    "PARTIALLY_SHIPPING": 3,
    "AWAITING_COLLECTION": 4,
    "IN_TRANSIT": 5,
    "DELIVERED": 6,
    "COMPLETED": 7,
    "CANCELLED": 8,
    "CANCEL": 8,
}


def order_status_rank(status: str) -> int:
    """Rank a TikTok order status in its life cycle (unknown statuses rank 0)."""
    return ORDER_STATUS_RANKS.get(status, 0)


# Small helpers ------------------------------------------------------------


def timestamp(value) -> datetime | None:
    """Turn TikTok's Unix seconds into an aware UTC datetime."""
    if value in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def money(value) -> Decimal | None:
    """Turn a TikTok decimal string into a Decimal; empty stays None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a decimal amount") from exc


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _join_words(values: Iterable, separator: str) -> str:
    return separator.join(text for text in (_text(v) for v in values) if text)


def _join_lines(values: Iterable) -> str:
    return _join_words(values, ", ")


# Addresses ----------------------------------------------------------------


def _district(address: Mapping, *, level: str = "", level_names=()) -> dict:
    """Find one ``district_info`` entry by level name first, then by level."""
    entries = [entry for entry in address.get("district_info") or [] if entry]
    wanted = {name.lower() for name in level_names}
    for entry in entries:
        if _text(entry.get("address_level_name")).lower() in wanted:
            return entry
    for entry in entries:
        if level and entry.get("address_level") == level:
            return entry
    return {}


def _country_code(address: Mapping) -> str:
    """Pick an ISO 3166 alpha-2 country code.

    The L0 entry of ``district_info`` is the country, but its ``iso_code``
    is not always a two-letter code (TikTok's own sample has ``"VAN"``), so
    such a value gives way to ``region_code``.
    """
    country = _district(address, level="L0", level_names=("Country",))
    iso_code = _text(country.get("iso_code")).upper()
    if len(iso_code) == 2 and iso_code.isalpha():
        return iso_code
    region_code = _text(address.get("region_code")).upper()
    if len(region_code) == 2 and region_code.isalpha():
        return region_code
    return ""


def recipient_address(address: Mapping | None) -> Address:
    """Map ``recipient_address``; a missing one (UNPAID, ON_HOLD) is empty."""
    if not address:
        return Address()
    line1 = _text(address.get("address_line1"))
    detail = _text(address.get("address_detail"))
    line2 = _join_lines(
        address.get(key) for key in ("address_line2", "address_line3", "address_line4")
    )
    if not line1:
        line1, detail = detail, ""
    if not line2 and detail and detail != line1:
        line2 = detail
    city = _district(address, level="L3", level_names=("City", "Town"))
    region = _district(address, level="L1", level_names=("State", "Province"))
    name = _text(address.get("name")) or _join_words(
        (address.get("first_name"), address.get("last_name")), " "
    )
    return Address(
        name=name,
        line1=line1,
        line2=line2,
        city=_text(city.get("address_name")) or _text(address.get("post_town")),
        region=_text(region.get("address_name")),
        postal_code=_text(address.get("postal_code")),
        country_code=_country_code(address),
    )


# Orders -------------------------------------------------------------------


def _is_cancelled_line(item: Mapping) -> bool:
    return (
        item.get("display_status") in CANCELLED_LINE_STATUSES
        or item.get("package_status") in CANCELLED_LINE_STATUSES
    )


def _units(item: Mapping) -> int:
    quantity = item.get("quantity")
    if quantity in (None, ""):
        return 1
    return int(quantity)


def line_item_units(item: Mapping) -> dict[str, tuple[int, str]]:
    """Return the SKUs one line item takes from stock: sku id → (units, seller SKU).

    A combined listing (``combined_listing_skus``) ships its component SKUs,
    ``sku_count`` units each, in place of the listing's own SKU.
    """
    units = _units(item)
    components = [c for c in item.get("combined_listing_skus") or [] if c]
    if not components:
        return {_text(item.get("sku_id")): (units, _text(item.get("seller_sku")))}
    taken: dict[str, tuple[int, str]] = {}
    for component in components:
        sku_id = _text(component.get("sku_id"))
        count = int(component.get("sku_count") or 1) * units
        previous = taken.get(sku_id, (0, ""))[0]
        taken[sku_id] = (previous + count, _text(component.get("seller_sku")))
    return taken


@dataclass
class _LineGroup:
    seller_sku: str
    title: str
    unit_price: Decimal | None
    open_units: int = 0
    cancelled_units: int = 0


def order_lines(line_items: Iterable[Mapping]) -> tuple[OrderLineRecord, ...]:
    """Group line items into one hub line per SKU id, in the order first seen.

    The hub line's ``external_id`` is the TikTok ``sku_id``, the one key that
    line items, returns and stock share. A SKU whose every unit is cancelled
    becomes a cancelled line; otherwise the cancelled units are left out.
    """
    groups: dict[str, _LineGroup] = {}
    for item in line_items:
        combined = bool(item.get("combined_listing_skus"))
        for sku_id, (units, seller_sku) in line_item_units(item).items():
            group = groups.get(sku_id)
            if group is None:
                title = _join_words(
                    (item.get("product_name"), item.get("sku_name")), " / "
                )
                # A combined listing's price belongs to the bundle, not to
                # each component, so components carry no unit price.
                price = None if combined else money(item.get("sale_price"))
                group = groups[sku_id] = _LineGroup(seller_sku, title, price)
            if _is_cancelled_line(item):
                group.cancelled_units += units
            else:
                group.open_units += units
    return tuple(
        OrderLineRecord(
            external_id=sku_id,
            quantity=group.open_units or group.cancelled_units,
            seller_sku=group.seller_sku,
            channel_sku_id=sku_id,
            title=group.title[:255],
            unit_price=group.unit_price,
            cancelled=group.open_units == 0,
        )
        for sku_id, group in groups.items()
    )


def order_record(order: Mapping, *, hold_minutes: int = 0) -> OrderRecord:
    """Map one TikTok order object (search or get-by-ids) to an OrderRecord.

    ``hold_minutes`` is the connector's edit window: routing waits until
    ``create_time`` plus that many minutes.
    """
    status = _text(order.get("status"))
    placed_at = timestamp(order.get("create_time"))
    if placed_at is None:
        raise ValueError(f"TikTok order {order.get('id')!r} has no create_time")
    updated_at = timestamp(order.get("update_time")) or placed_at
    payment = order.get("payment") or {}
    address = order.get("recipient_address")
    hold_until = placed_at + timedelta(minutes=hold_minutes) if hold_minutes else None
    return OrderRecord(
        external_id=_text(order.get("id")),
        channel_status=status,
        placed_at=placed_at,
        updated_at=updated_at,
        lines=order_lines(order.get("line_items") or []),
        currency=_text(payment.get("currency")),
        subtotal=money(payment.get("sub_total")),
        shipping_total=money(payment.get("shipping_fee")),
        total=money(payment.get("total_amount")),
        customer_name=_text((address or {}).get("name")),
        customer_email=_text(order.get("buyer_email")),
        address=recipient_address(address),
        cancelled=status in CANCELLED_STATUSES,
        fulfilled_by_channel=order.get("fulfillment_type") == FULFILLED_BY_TIKTOK,
        routable=status not in NOT_ROUTABLE_STATUSES,
        shipped=status in SHIPPED_STATUSES,
        hold_until=hold_until,
        channel_warehouse_id=_text(order.get("warehouse_id")),
        raw=dict(order),
    )


# Returns ------------------------------------------------------------------


def return_record(return_order: Mapping) -> ReturnRecord:
    """Map one return order of the returns search to a ReturnRecord.

    Lines are grouped per ``sku_id`` like order lines, so
    ``order_line_external_id`` matches the hub line of that SKU.
    """
    counts: dict[str, int] = defaultdict(int)
    seller_skus: dict[str, str] = {}
    for item in return_order.get("return_line_items") or []:
        sku_id = _text(item.get("sku_id"))
        counts[sku_id] += _units(item)
        seller_skus.setdefault(sku_id, _text(item.get("seller_sku")))
    reason = _text(return_order.get("return_reason_text")) or _text(
        return_order.get("return_reason")
    )
    created_at = timestamp(return_order.get("create_time"))
    if created_at is None:
        raise ValueError(
            f"TikTok return {return_order.get('return_id')!r} has no create_time"
        )
    return ReturnRecord(
        external_id=_text(return_order.get("return_id")),
        order_external_id=_text(return_order.get("order_id")),
        channel_status=_text(return_order.get("return_status")),
        created_at=created_at,
        updated_at=timestamp(return_order.get("update_time")) or created_at,
        lines=tuple(
            ReturnLineRecord(
                order_line_external_id=sku_id,
                quantity=count,
                seller_sku=seller_skus[sku_id],
                reason=reason,
            )
            for sku_id, count in counts.items()
        ),
        reason=reason,
        raw=dict(return_order),
    )


# Products and warehouses --------------------------------------------------


@dataclass(frozen=True)
class ProductSkuRecord:
    """One SKU of a TikTok product, as the hub matches it to a master SKU."""

    product_id: str
    sku_id: str
    seller_sku: str
    product_title: str = ""
    product_status: str = ""
    sku_status: str = ""
    currency: str = ""
    sale_price: Decimal | None = None
    #: Warehouse id → units that TikTok holds for sale there.
    inventory: Mapping[str, int] = field(default_factory=dict)


def product_sku_records(product: Mapping) -> list[ProductSkuRecord]:
    """Flatten one product of the product search into its SKUs."""
    records = []
    for sku in product.get("skus") or []:
        price = sku.get("price") or {}
        records.append(
            ProductSkuRecord(
                product_id=_text(product.get("id")),
                sku_id=_text(sku.get("id")),
                seller_sku=_text(sku.get("seller_sku")),
                product_title=_text(product.get("title")),
                product_status=_text(product.get("status")),
                sku_status=_text((sku.get("status_info") or {}).get("status")),
                currency=_text(price.get("currency")),
                sale_price=money(price.get("sale_price")),
                inventory={
                    _text(row.get("warehouse_id")): int(row.get("quantity") or 0)
                    for row in sku.get("inventory") or []
                },
            )
        )
    return records


#: The product status of a product deleted on TikTok.
DELETED_PRODUCT_STATUS = "DELETED"


def product_create_body(
    *, title: str, description: str, seller_sku: str, price: Decimal, currency: str
) -> dict:
    """Build a Create Product body with one SKU.

    ``description`` is plain text. TikTok takes HTML, so it is escaped and
    sent as one paragraph.
    """
    return {
        "title": title,
        "description": f"<p>{escape(description)}</p>",
        "skus": [
            {
                "seller_sku": seller_sku,
                "price": {"amount": f"{price:.2f}", "currency": currency},
            }
        ],
    }


def created_sku_id(data: Mapping, seller_sku: str) -> tuple[str, str]:
    """Return (product id, SKU id) from a Create Product response.

    Raises ValueError when the response lacks either id for ``seller_sku``.
    """
    product_id = _text(data.get("product_id"))
    sku_ids = [
        _text(sku.get("id"))
        for sku in data.get("skus") or []
        if _text(sku.get("seller_sku")) == seller_sku and _text(sku.get("id"))
    ]
    if product_id and sku_ids:
        return product_id, sku_ids[0]
    raise ValueError(
        f"TikTok's Create Product response has no product_id or no SKU id for "
        f"seller SKU {seller_sku!r}"
    )


@dataclass(frozen=True)
class WarehouseRecord:
    """A TikTok warehouse, to be linked to a hub location."""

    id: str
    name: str
    effect_status: str
    type: str
    sub_type: str = ""
    is_default: bool = False
    address: Address = field(default_factory=Address)
    district: str = ""

    @property
    def is_sales_warehouse(self) -> bool:
        return self.type == "SALES_WAREHOUSE"


def warehouse_record(warehouse: Mapping) -> WarehouseRecord:
    """Map one warehouse of the warehouse list (``distict`` is TikTok's spelling)."""
    address = warehouse.get("address") or {}
    region_code = _text(address.get("region_code")).upper()
    return WarehouseRecord(
        id=_text(warehouse.get("id")),
        name=_text(warehouse.get("name")),
        effect_status=_text(warehouse.get("effect_status")),
        type=_text(warehouse.get("type")),
        sub_type=_text(warehouse.get("sub_type")),
        is_default=bool(warehouse.get("is_default")),
        address=Address(
            name=_text(address.get("contact_person")),
            line1=_text(address.get("address_line1"))
            or _text(address.get("full_address")),
            line2=_join_lines(
                address.get(key)
                for key in ("address_line2", "address_line3", "address_line4")
            ),
            city=_text(address.get("city")),
            region=_text(address.get("state")),
            postal_code=_text(address.get("postal_code")),
            country_code=region_code if len(region_code) == 2 else "",
        ),
        district=_text(address.get("distict") or address.get("district")),
    )


# Inventory ----------------------------------------------------------------


def stock_identifier(sku_id: str, warehouse_id: str) -> str:
    """Name one pushed stock item: ``<sku id>@<warehouse id>``."""
    return f"{sku_id}@{warehouse_id}"


def inventory_update_body(quantities: Mapping[str, Mapping[str, int]]) -> dict:
    """Build the inventory update body from SKU id → warehouse id → units."""
    return {
        "skus": [
            {
                "id": str(sku_id),
                "inventory": [
                    {"warehouse_id": str(warehouse_id), "quantity": int(quantity)}
                    for warehouse_id, quantity in warehouses.items()
                ],
            }
            for sku_id, warehouses in quantities.items()
        ]
    }


def inventory_results(
    quantities: Mapping[str, Mapping[str, int]], data: Mapping | None
) -> list[StockItemResult]:
    """Sort each pushed (SKU, warehouse) into accepted or rejected.

    TikTok reports failures inside a ``code: 0`` response, in ``data.errors``,
    per SKU with per-warehouse ``extra_errors``. Every warehouse of a SKU
    that has an error counts as rejected, because the response does not tell
    whether TikTok applied the SKU's other warehouses; pushes are absolute,
    so sending them again is harmless. An error that names no SKU rejects
    every item.
    """
    sku_errors: dict[str, dict] = {}
    general_errors: list[dict] = []
    for error in (data or {}).get("errors") or []:
        sku_id = _text((error.get("detail") or {}).get("sku_id"))
        if sku_id:
            sku_errors[sku_id] = error
        else:
            general_errors.append(error)

    results = []
    for sku_id, warehouses in quantities.items():
        error = sku_errors.get(str(sku_id))
        for warehouse_id in warehouses:
            identifier = stock_identifier(str(sku_id), str(warehouse_id))
            if error is None and not general_errors:
                results.append(StockItemResult(identifier=identifier, accepted=True))
                continue
            chosen = error or general_errors[0]
            code, detail = _warehouse_error(chosen, str(warehouse_id))
            results.append(
                StockItemResult(
                    identifier=identifier,
                    accepted=False,
                    error_code=code,
                    error_detail=detail,
                )
            )
    return results


def _warehouse_error(error: Mapping, warehouse_id: str) -> tuple[str, str]:
    """Prefer the ``extra_errors`` entry of this warehouse over the SKU's error."""
    for extra in (error.get("detail") or {}).get("extra_errors") or []:
        if _text(extra.get("warehouse_id")) == warehouse_id:
            return _text(extra.get("code")), _text(extra.get("message"))
    return _text(error.get("code")), _text(error.get("message"))


# Shops --------------------------------------------------------------------


@dataclass(frozen=True)
class ShopRecord:
    """One shop an authorization covers."""

    id: str
    name: str
    region: str
    cipher: str
    seller_type: str = ""
    code: str = ""


def shop_record(shop: Mapping) -> ShopRecord:
    return ShopRecord(
        id=_text(shop.get("id")),
        name=_text(shop.get("name")),
        region=_text(shop.get("region")).upper(),
        cipher=_text(shop.get("cipher")),
        seller_type=_text(shop.get("seller_type")),
        code=_text(shop.get("code")),
    )


# Fulfilment ---------------------------------------------------------------

#: Line item package statuses that mean "not shipped yet".
UNSHIPPED_PACKAGE_STATUSES = frozenset({"", "TO_FULFILL"})


def line_items_to_ship(
    order: Mapping, quantities: Mapping[str, int], exclude: Iterable[str] = ()
) -> list[str]:
    """Pick the line item ids that ship ``quantities`` (hub line id → units).

    Hub lines are keyed by SKU id (see :func:`order_lines`). A line item is
    eligible while it is not cancelled, not yet shipped (package status
    TO_FULFILL, or none) and not in ``exclude`` (ids the hub already sent).
    A combined listing item is taken only when the fulfillment covers all of
    its components. Raises ValueError naming the SKUs that cannot be covered.
    """
    remaining = {str(key): int(value) for key, value in quantities.items() if value}
    excluded = {str(item_id) for item_id in exclude}
    chosen = []
    for item in order.get("line_items") or []:
        item_id = _text(item.get("id"))
        if (
            item_id in excluded
            or _is_cancelled_line(item)
            or _text(item.get("package_status")) not in UNSHIPPED_PACKAGE_STATUSES
        ):
            continue
        units = line_item_units(item)
        if all(
            remaining.get(sku_id, 0) >= count for sku_id, (count, _) in units.items()
        ):
            for sku_id, (count, _) in units.items():
                remaining[sku_id] -= count
            chosen.append(item_id)
    short = {sku_id: units for sku_id, units in remaining.items() if units > 0}
    if short:
        detail = ", ".join(
            f"SKU {sku} × {units}" for sku, units in sorted(short.items())
        )
        raise ValueError(
            f"TikTok order {order.get('id')} has no unshipped line items left for "
            f"{detail}. Check the order on TikTok; it may have been shipped there."
        )
    return chosen
