"""The business side of each sandbox endpoint, after every check passed.

Each handler takes a :class:`~.validation.SignedCall` and returns the
``data`` object of the response, or raises :class:`~.wire.SandboxError`.
"""

import secrets
from decimal import Decimal, InvalidOperation

from django.db import transaction

from . import events, wire
from .api import CURRENCIES
from .models import (
    SandboxDeliveryOption,
    SandboxInventory,
    SandboxOrder,
    SandboxPackage,
    SandboxProduct,
    SandboxReturn,
    SandboxSku,
    SandboxWarehouse,
)
from .validation import SignedCall

MAX_ORDER_IDS = 50
ORDER_SORT_FIELDS = ("create_time", "update_time")
SHIPPABLE_STATUSES = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")
# Create Product limits for US and GB shops (TikTok's field notes for
# POST /product/202309/products). The sandbox applies them to every shop.
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 10000
MAX_SELLER_SKU_LENGTH = 50
MAX_PRODUCT_SKUS = 100
MIN_PRICE = Decimal("0.01")
MAX_CREATE_STOCK = 999999


def new_id(prefix: str = "57", length: int = 18) -> str:
    """Make a ``length``-digit id like TikTok's, as a string."""
    return prefix + "".join(
        secrets.choice("0123456789") for _ in range(length - len(prefix))
    )


def _page_size(call: SignedCall, *, maximum: int, default: int | None = None) -> int:
    text = call.query.get("page_size", "")
    if not text and default is not None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise wire.invalid_parameter(
            f"page_size is required and must be between 1 and {maximum}; got {text!r}."
        )
    return int(text)


def _sort(call: SignedCall, *, default_field: str, default_order: str):
    sort_field = call.query.get("sort_field") or default_field
    sort_order = (call.query.get("sort_order") or default_order).upper()
    if sort_field not in ORDER_SORT_FIELDS:
        raise wire.invalid_parameter(
            f"sort_field must be create_time or update_time; got {sort_field!r}."
        )
    if sort_order not in ("ASC", "DESC"):
        raise wire.invalid_parameter(
            f"sort_order must be ASC or DESC; got {sort_order!r}."
        )
    prefix = "-" if sort_order == "DESC" else ""
    return sort_field, sort_order, [f"{prefix}{sort_field}", f"{prefix}pk"]


def _int_filter(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wire.invalid_parameter(f"{name} must be a Unix timestamp in seconds.")
    return value


def _time_filters(queryset, body: dict, names: dict[str, str]):
    for name, lookup in names.items():
        value = _int_filter(body, name)
        if value is not None:
            queryset = queryset.filter(**{lookup: value})
    return queryset


# Shops and warehouses -----------------------------------------------------


def authorized_shops(call: SignedCall) -> dict:
    return {
        "shops": [
            {
                "id": shop.shop_id,
                "name": shop.name,
                "region": shop.region,
                "seller_type": shop.seller_type,
                "cipher": shop.cipher,
                "code": shop.code,
            }
            for shop in call.token.shops.order_by("pk")
        ]
    }


def render_warehouse(warehouse: SandboxWarehouse) -> dict:
    return {
        "id": warehouse.warehouse_id,
        "name": warehouse.name,
        "effect_status": warehouse.effect_status,
        "type": warehouse.type,
        "sub_type": warehouse.sub_type,
        "is_default": warehouse.is_default,
        "address": warehouse.address,
    }


def warehouses(call: SignedCall) -> dict:
    rows = call.shop.warehouses.order_by("pk")
    return {"warehouses": [render_warehouse(row) for row in rows]}


def delivery_options(call: SignedCall) -> dict:
    warehouse_id = call.path_args["warehouse_id"]
    if not call.shop.warehouses.filter(warehouse_id=warehouse_id).exists():
        raise wire.invalid_parameter(f"Warehouse {warehouse_id} is not in this shop.")
    return {
        "delivery_options": [
            {"id": option.option_id, "name": option.name, "type": option.type}
            for option in call.shop.delivery_options.order_by("pk")
        ]
    }


def shipping_providers(call: SignedCall) -> dict:
    option_id = call.path_args["delivery_option_id"]
    option = call.shop.delivery_options.filter(option_id=option_id).first()
    if option is None:
        raise wire.invalid_parameter(
            f"Delivery option {option_id} is not in this shop."
        )
    return {"shipping_providers": option.shipping_providers}


# Orders -------------------------------------------------------------------


def render_order(order: SandboxOrder) -> dict:
    data = dict(order.payload)
    data.update(
        {
            "id": order.order_id,
            "status": order.status,
            "fulfillment_type": order.fulfillment_type,
            "shipping_type": order.shipping_type,
            "warehouse_id": order.warehouse_id,
            "delivery_option_id": order.delivery_option_id,
            "user_id": order.buyer_user_id,
            "create_time": order.create_time,
            "update_time": order.update_time,
        }
    )
    packages = [{"id": package.package_id} for package in order.packages.order_by("pk")]
    if packages:
        data["packages"] = packages
    return data


def search_orders(call: SignedCall) -> dict:
    page_size = _page_size(call, maximum=100)
    sort_field, sort_order, ordering = _sort(
        call, default_field="create_time", default_order="DESC"
    )
    body = call.body
    queryset = SandboxOrder.objects.filter(shop=call.shop)
    queryset = _time_filters(
        queryset,
        body,
        {
            "create_time_ge": "create_time__gte",
            "create_time_lt": "create_time__lt",
            "update_time_ge": "update_time__gte",
            "update_time_lt": "update_time__lt",
        },
    )
    if body.get("order_status"):
        queryset = queryset.filter(status=body["order_status"])
    if body.get("shipping_type"):
        queryset = queryset.filter(shipping_type=body["shipping_type"])
    if body.get("buyer_user_id"):
        queryset = queryset.filter(buyer_user_id=body["buyer_user_id"])
    if body.get("warehouse_ids"):
        queryset = queryset.filter(warehouse_id__in=list(body["warehouse_ids"]))
    rows, next_token, total = wire.paginate(
        queryset.order_by(*ordering),
        page_size=page_size,
        page_token=call.query.get("page_token", ""),
        search_fingerprint=wire.fingerprint("orders", body, sort_field, sort_order),
    )
    return {
        "next_page_token": next_token,
        "total_count": total,
        "orders": [render_order(row) for row in rows],
    }


def get_orders(call: SignedCall) -> dict:
    ids = [value for value in call.query.get("ids", "").split(",") if value]
    if not ids:
        raise wire.invalid_parameter(
            "ids is required: up to 50 order ids, comma-joined."
        )
    if len(ids) > MAX_ORDER_IDS:
        raise wire.invalid_parameter(f"ids contains {len(ids)} ids; the maximum is 50.")
    found = {
        order.order_id: order
        for order in SandboxOrder.objects.filter(shop=call.shop, order_id__in=ids)
    }
    return {"orders": [render_order(found[i]) for i in ids if i in found]}


# Products and inventory ---------------------------------------------------


def render_product(product: SandboxProduct) -> dict:
    skus = []
    for sku in product.skus.order_by("pk"):
        skus.append(
            {
                "id": sku.sku_id,
                "seller_sku": sku.seller_sku,
                "price": {
                    "currency": sku.currency,
                    "tax_exclusive_price": sku.sale_price,
                    "sale_price": sku.sale_price,
                },
                "inventory": [
                    {
                        "warehouse_id": row.warehouse.warehouse_id,
                        "quantity": row.quantity,
                    }
                    for row in sku.inventory.select_related("warehouse").order_by("pk")
                ],
            }
        )
    return {
        "id": product.product_id,
        "title": product.title,
        "status": product.status,
        "skus": skus,
        "sales_regions": [product.shop.region],
        "create_time": product.create_time,
        "update_time": product.update_time,
    }


def search_products(call: SignedCall) -> dict:
    """Search the shop's products after passing the review of every PENDING
    product, so a created product is ACTIVATE from the next search on."""
    page_size = _page_size(call, maximum=100)
    body = call.body
    SandboxProduct.objects.filter(shop=call.shop, status="PENDING").update(
        status="ACTIVATE", update_time=call.now
    )
    queryset = SandboxProduct.objects.filter(shop=call.shop).select_related("shop")
    status = body.get("status") or "ALL"
    if status != "ALL":
        queryset = queryset.filter(status=status)
    seller_skus = body.get("seller_skus") or []
    if len(seller_skus) > 10:
        raise wire.SandboxError(
            wire.SELLER_SKUS_TOO_MANY, "seller_skus holds more than 10 values."
        )
    if seller_skus:
        queryset = queryset.filter(skus__seller_sku__in=seller_skus).distinct()
    queryset = _time_filters(
        queryset,
        body,
        {
            "create_time_ge": "create_time__gte",
            "create_time_le": "create_time__lte",
            "update_time_ge": "update_time__gte",
            "update_time_le": "update_time__lte",
        },
    )
    search_fingerprint = wire.fingerprint("products", body)
    offset = wire.read_page_token(call.query.get("page_token", ""), search_fingerprint)
    if offset + page_size > wire.SEARCH_LIMIT:
        raise wire.SandboxError(
            wire.SEARCH_TOO_DEEP,
            "The search matches more than 10,000 products; narrow it by time.",
        )
    rows, next_token, total = wire.paginate(
        queryset.order_by("pk"),
        page_size=page_size,
        page_token=call.query.get("page_token", ""),
        search_fingerprint=search_fingerprint,
    )
    return {
        "total_count": total,
        "products": [render_product(row) for row in rows],
        "next_page_token": next_token,
    }


def _text_field(body: dict, name: str, maximum: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise wire.invalid_parameter(f"{name} is required and must be a string.")
    if len(value) > maximum:
        raise wire.invalid_parameter(
            f"{name} has {len(value)} characters; the maximum is {maximum}."
        )
    return value.strip()


def _create_price(sku: dict, currency: str) -> str:
    price = sku.get("price")
    if not isinstance(price, dict):
        raise wire.invalid_parameter("Every SKU needs a price: {amount, currency}.")
    try:
        amount = Decimal(str(price.get("amount")))
    except InvalidOperation as exc:
        raise wire.invalid_parameter(
            f"price.amount {price.get('amount')!r} is not a decimal string."
        ) from exc
    if not amount.is_finite() or amount < MIN_PRICE:
        raise wire.invalid_parameter(
            f"price.amount {price.get('amount')!r} is below the minimum of {MIN_PRICE}."
        )
    if price.get("currency") != currency:
        raise wire.invalid_parameter(
            f"price.currency must be {currency} in this shop; got "
            f"{price.get('currency')!r}."
        )
    return f"{amount:.2f}"


def _create_inventory(sku: dict, shop) -> list[tuple[SandboxWarehouse, int]]:
    """Return the SKU's [(warehouse, units)], or 0 units in the default
    warehouse when the request lists none."""
    warehouses = {w.warehouse_id: w for w in shop.warehouses.all()}
    rows = sku.get("inventory") or []
    if not rows:
        default = next((w for w in warehouses.values() if w.is_default), None)
        return [(default, 0)] if default else []
    result = []
    for row in rows:
        warehouse = warehouses.get(str(row.get("warehouse_id") or ""))
        if warehouse is None:
            raise wire.SandboxError(
                wire.WAREHOUSE_NOT_FOUND,
                f"Warehouse {row.get('warehouse_id')!r} does not exist in this shop.",
            )
        quantity = row.get("quantity", 0)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 0 <= quantity <= MAX_CREATE_STOCK
        ):
            raise wire.SandboxError(
                wire.STOCK_INVALID,
                f"The stock count {quantity!r} is invalid: it must be a whole "
                f"number from 0 to {MAX_CREATE_STOCK}.",
            )
        result.append((warehouse, quantity))
    return result


def _create_sku_plans(body: dict, shop) -> list[tuple[str, str, list]]:
    skus = body.get("skus")
    if not isinstance(skus, list) or not skus:
        raise wire.invalid_parameter("skus must list at least one SKU.")
    if len(skus) > MAX_PRODUCT_SKUS:
        raise wire.invalid_parameter(
            f"skus lists {len(skus)} SKUs; the maximum is {MAX_PRODUCT_SKUS}."
        )
    currency = CURRENCIES.get(shop.region, "GBP")
    plans = []
    for sku in skus:
        if not isinstance(sku, dict):
            raise wire.invalid_parameter("Every SKU must be a JSON object.")
        seller_sku = sku.get("seller_sku") or ""
        if not isinstance(seller_sku, str) or len(seller_sku) > MAX_SELLER_SKU_LENGTH:
            raise wire.invalid_parameter(
                f"seller_sku {seller_sku!r} must be a string of at most "
                f"{MAX_SELLER_SKU_LENGTH} characters."
            )
        price = _create_price(sku, currency)
        plans.append((seller_sku, price, _create_inventory(sku, shop)))
    return plans


def create_product(call: SignedCall) -> dict:
    """Create a product under review (PENDING), as TikTok's asynchronous
    audit does. The sandbox passes the review at the shop's next product
    search (see :func:`search_products`)."""
    body = call.body
    title = _text_field(body, "title", MAX_TITLE_LENGTH)
    description = _text_field(body, "description", MAX_DESCRIPTION_LENGTH)
    plans = _create_sku_plans(body, call.shop)
    currency = CURRENCIES.get(call.shop.region, "GBP")
    with transaction.atomic():
        product = SandboxProduct.objects.create(
            shop=call.shop,
            product_id=new_id("17", length=19),
            title=title,
            description=description,
            status="PENDING",
            create_time=call.now,
            update_time=call.now,
        )
        created = []
        for seller_sku, price, stock in plans:
            sku = SandboxSku.objects.create(
                product=product,
                sku_id=new_id("17", length=19),
                seller_sku=seller_sku,
                sale_price=price,
                currency=currency,
            )
            SandboxInventory.objects.bulk_create(
                SandboxInventory(sku=sku, warehouse=warehouse, quantity=quantity)
                for warehouse, quantity in stock
            )
            created.append(sku)
    return {
        "product_id": product.product_id,
        "skus": [
            {"id": sku.sku_id, "seller_sku": sku.seller_sku, "sales_attributes": []}
            for sku in created
        ],
        "warnings": [],
    }


def _stock_value(value) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 <= value < wire.MAX_STOCK)
    ):
        raise wire.SandboxError(
            wire.STOCK_INVALID,
            f"The stock count {value!r} is invalid: it must be a whole number from "
            f"0 to {wire.MAX_STOCK - 1}.",
        )
    return value


def _requested_inventory(sku_request: dict, sku: SandboxSku | None, shop) -> list:
    """Return [(warehouse id, quantity)]; fill in the single default warehouse."""
    rows = sku_request.get("inventory") or []
    if not rows:
        raise wire.SandboxError(
            wire.STOCK_INVALID, f"SKU {sku_request['id']} lists no inventory."
        )
    result = []
    for row in rows:
        quantity = _stock_value(row.get("quantity"))
        warehouse_id = str(row.get("warehouse_id") or "")
        if not warehouse_id:
            current = list(sku.inventory.all()) if sku else []
            if len(current) > 1:
                raise wire.SandboxError(
                    wire.WAREHOUSES_NOT_ALL_LISTED,
                    f"SKU {sku_request['id']} is stocked in several warehouses, so "
                    "every warehouse_id must be listed.",
                )
            default = shop.warehouses.filter(is_default=True).first()
            warehouse_id = (
                current[0].warehouse.warehouse_id
                if current
                else (default.warehouse_id if default else "")
            )
        result.append((warehouse_id, quantity))
    return result


def update_inventory(call: SignedCall) -> dict:
    product = SandboxProduct.objects.filter(
        shop=call.shop, product_id=call.path_args["product_id"]
    ).first()
    if product is None or product.status != "ACTIVATE":
        raise wire.SandboxError(
            wire.PRODUCT_NOT_EDITABLE,
            f"Product {call.path_args['product_id']} is not a live product of this "
            "shop, so its inventory cannot be updated.",
        )
    sku_requests = call.body.get("skus") or []
    if not sku_requests:
        raise wire.SandboxError(
            wire.SKU_ID_REQUIRED, "skus must list at least one SKU."
        )
    skus = {
        sku.sku_id: sku for sku in product.skus.prefetch_related("inventory__warehouse")
    }
    shop_warehouses = {w.warehouse_id: w for w in call.shop.warehouses.all()}

    # Check the whole request before writing anything.
    plans = []
    for sku_request in sku_requests:
        if not sku_request.get("id"):
            raise wire.SandboxError(wire.SKU_ID_REQUIRED, "Every SKU needs its id.")
        sku = skus.get(str(sku_request["id"]))
        requested = _requested_inventory(sku_request, sku, call.shop)
        if sku is not None:
            stocked = {row.warehouse.warehouse_id for row in sku.inventory.all()}
            listed = {warehouse_id for warehouse_id, _ in requested}
            missing = sorted(stocked - listed)
            if missing:
                raise wire.SandboxError(
                    wire.WAREHOUSES_NOT_ALL_LISTED,
                    f"SKU {sku.sku_id} is stocked in warehouses {', '.join(missing)} "
                    "too: list all of its warehouses.",
                )
        plans.append((str(sku_request["id"]), sku, requested))

    errors = []
    with transaction.atomic():
        for sku_id, sku, requested in plans:
            failure = _sku_failure(sku_id, sku, requested, shop_warehouses)
            if failure:
                errors.append(failure)
                continue
            for warehouse_id, quantity in requested:
                SandboxInventory.objects.update_or_create(
                    sku=sku,
                    warehouse=shop_warehouses[warehouse_id],
                    defaults={"quantity": quantity},
                )
        product.update_time = call.now
        product.save(update_fields=["update_time"])
    return {"errors": errors} if errors else {}


def _sku_failure(sku_id, sku, requested, shop_warehouses) -> dict | None:
    """Build the ``code: 0`` error entry of a SKU that cannot be applied."""
    if sku is None:
        return {
            "code": wire.CHECK_FAILED,
            "message": "Check failed",
            "detail": {
                "sku_id": sku_id,
                "extra_errors": [
                    {"code": wire.SKU_ID_REQUIRED, "message": "The SKU does not exist"}
                ],
            },
        }
    unknown = [w for w, _ in requested if w not in shop_warehouses]
    if not unknown:
        return None
    return {
        "code": wire.CHECK_FAILED,
        "message": "Check failed",
        "detail": {
            "sku_id": sku_id,
            "extra_errors": [
                {
                    "warehouse_id": warehouse_id,
                    "code": wire.WAREHOUSE_NOT_FOUND,
                    "message": "The warehouse does not exist",
                }
                for warehouse_id in unknown
            ],
        },
    }


# Fulfillment --------------------------------------------------------------


def mark_package_shipped(call: SignedCall) -> dict:
    order_id = call.path_args["order_id"]
    body = call.body
    tracking_number = str(body.get("tracking_number") or "").strip()
    provider_id = str(body.get("shipping_provider_id") or "")
    if not tracking_number or not provider_id:
        raise wire.invalid_parameter(
            "tracking_number and shipping_provider_id are required."
        )

    with transaction.atomic():
        order = (
            SandboxOrder.objects.select_for_update()
            .filter(shop=call.shop, order_id=order_id)
            .first()
        )
        if order is None:
            raise wire.SandboxError(
                wire.NOT_YOUR_ORDER,
                "The order or package does not belong to the current seller.",
            )
        _check_shippable(order)
        provider = _provider(order, provider_id)
        items = order.payload.get("line_items") or []
        chosen = _chosen_items(items, body.get("order_line_item_ids"))
        package = SandboxPackage.objects.create(
            order=order,
            package_id=new_id("11"),
            status="PROCESSING",
            tracking_number=tracking_number,
            shipping_provider_id=provider["id"],
            shipping_provider_name=provider["name"],
            order_line_item_ids=[item["id"] for item in chosen],
            create_time=call.now,
            update_time=call.now,
        )
        for item in chosen:
            item.update(
                {
                    "package_id": package.package_id,
                    "package_status": "PROCESSING",
                    "display_status": "AWAITING_COLLECTION",
                    "tracking_number": tracking_number,
                    "shipping_provider_id": provider["id"],
                    "shipping_provider_name": provider["name"],
                }
            )
        still_open = [item for item in items if _is_open_item(item)]
        order.status = "PARTIALLY_SHIPPING" if still_open else "AWAITING_COLLECTION"
        order.payload.update(
            {
                "tracking_number": tracking_number,
                "shipping_provider_id": provider["id"],
                "shipping_provider": provider["name"],
            }
        )
        order.update_time = call.now
        order.save(update_fields=["status", "payload", "update_time"])
        events.order_status_changed(order)
    return {
        "order_id": order.order_id,
        "order_line_item_ids": package.order_line_item_ids,
        "package_id": package.package_id,
    }


def _check_shippable(order: SandboxOrder) -> None:
    if order.fulfillment_type == "FULFILLMENT_BY_TIKTOK":
        raise wire.SandboxError(
            wire.SANDBOX_NOT_SHIPPABLE,
            f"Order {order.order_id} is fulfilled by TikTok; the seller cannot "
            "ship it.",
        )
    if order.status not in SHIPPABLE_STATUSES:
        raise wire.SandboxError(
            wire.SANDBOX_NOT_SHIPPABLE,
            f"Order {order.order_id} is {order.status}; only AWAITING_SHIPMENT and "
            "PARTIALLY_SHIPPING orders can be marked as shipped.",
        )


def _provider(order: SandboxOrder, provider_id: str) -> dict:
    option = SandboxDeliveryOption.objects.filter(
        option_id=order.delivery_option_id
    ).first()
    providers = option.shipping_providers if option else []
    for provider in providers:
        if provider["id"] == provider_id:
            return provider
    raise wire.SandboxError(
        wire.SANDBOX_PROVIDER_NOT_AVAILABLE,
        f"Shipping provider {provider_id} is not available for delivery option "
        f"{order.delivery_option_id}.",
    )


def _is_open_item(item: dict) -> bool:
    # TikTok may give a line item a package before it ships, so the package
    # status, not the package id, shows whether it has shipped.
    return (
        item.get("package_status", "TO_FULFILL") == "TO_FULFILL"
        and item.get("display_status") != "CANCELLED"
    )


def _chosen_items(items: list[dict], wanted) -> list[dict]:
    if not wanted:
        chosen = [item for item in items if _is_open_item(item)]
        if not chosen:
            raise wire.SandboxError(
                wire.SANDBOX_LINE_NOT_SHIPPABLE, "Every line item is already shipped."
            )
        return chosen
    by_id = {item["id"]: item for item in items}
    problems = [
        str(item_id)
        for item_id in wanted
        if str(item_id) not in by_id or not _is_open_item(by_id[str(item_id)])
    ]
    if problems:
        raise wire.SandboxError(
            wire.SANDBOX_LINE_NOT_SHIPPABLE,
            f"Line items {', '.join(problems)} are not open line items of this order.",
        )
    return [by_id[str(item_id)] for item_id in dict.fromkeys(wanted)]


# Returns ------------------------------------------------------------------


def render_return(row: SandboxReturn) -> dict:
    data = dict(row.payload)
    data.update(
        {
            "return_id": row.return_id,
            "order_id": row.order.order_id,
            "return_type": row.return_type,
            "return_status": row.return_status,
            "create_time": row.create_time,
            "update_time": row.update_time,
        }
    )
    return data


def search_returns(call: SignedCall) -> dict:
    page_size = _page_size(call, maximum=50, default=10)
    sort_field, sort_order, ordering = _sort(
        call, default_field="create_time", default_order="ASC"
    )
    body = call.body
    queryset = SandboxReturn.objects.filter(shop=call.shop).select_related("order")
    lists = {
        "return_ids": "return_id__in",
        "order_ids": "order__order_id__in",
        "return_types": "return_type__in",
        "return_status": "return_status__in",
    }
    for name, lookup in lists.items():
        if body.get(name):
            queryset = queryset.filter(**{lookup: list(body[name])})
    queryset = _time_filters(
        queryset,
        body,
        {
            "create_time_ge": "create_time__gte",
            "create_time_lt": "create_time__lt",
            "update_time_ge": "update_time__gte",
            "update_time_lt": "update_time__lt",
        },
    )
    rows, next_token, total = wire.paginate(
        queryset.order_by(*ordering),
        page_size=page_size,
        page_token=call.query.get("page_token", ""),
        search_fingerprint=wire.fingerprint("returns", body, sort_field, sort_order),
    )
    return {
        "return_orders": [render_return(row) for row in rows],
        "total_count": total,
        "next_page_token": next_token,
    }
