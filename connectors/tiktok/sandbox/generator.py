"""Seeded TikTok shop data in the shapes of TikTok's documented samples.

The same seed gives the same orders and returns, so the demo and the tests
can name what they expect. Ids are 18-19 digit strings and money is decimal
strings, as TikTok sends them.
"""

import random
from decimal import Decimal

from .models import SandboxOrder, SandboxReturn, SandboxShop

#: Statuses with their share of generated orders (weights, not percentages).
ORDER_STATUS_WEIGHTS = {
    "UNPAID": 1,
    "ON_HOLD": 1,
    "AWAITING_SHIPMENT": 6,
    "PARTIALLY_SHIPPING": 1,
    "AWAITING_COLLECTION": 1,
    "IN_TRANSIT": 1,
    "DELIVERED": 1,
    "COMPLETED": 1,
    "CANCELLED": 1,
}
FULFILLED_BY_TIKTOK_SHARE = 0.1
NO_ADDRESS_STATUSES = ("UNPAID", "ON_HOLD")
SHIPPED_STATUSES = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")
LINE_DISPLAY_AFTER_SHIPPING = {
    "AWAITING_COLLECTION": ("AWAITING_COLLECTION", "PROCESSING"),
    "IN_TRANSIT": ("IN_TRANSIT", "FULFILLING"),
    "DELIVERED": ("DELIVERED", "COMPLETED"),
    "COMPLETED": ("COMPLETED", "COMPLETED"),
}

REGIONS = {
    "GB": {
        "currency": "GBP",
        "country": "United Kingdom",
        "states": ["England", "Scotland", "Wales"],
        "cities": [("London", "SW1A 1AA"), ("Leeds", "LS1 4AP"), ("Glasgow", "G1 1XQ")],
        "streets": ["High Street", "Station Road", "Church Lane"],
    },
    "US": {
        "currency": "USD",
        "country": "United States",
        "states": ["California", "Texas", "New York"],
        "cities": [("San Jose", "95110"), ("Austin", "78701"), ("Albany", "12207")],
        "streets": ["Main Street", "Oak Avenue", "Bristol Pkwy"],
    },
    "MY": {
        "currency": "MYR",
        "country": "Malaysia",
        "states": ["Selangor", "Johor", "Penang"],
        "cities": [
            ("Shah Alam", "40000"),
            ("Johor Bahru", "80000"),
            ("George Town", "10200"),
        ],
        "streets": ["Jalan Ampang", "Jalan Bukit", "Lorong Kulit"],
    },
}
FIRST_NAMES = ["Sam", "Alex", "Kim", "Jordan", "Robin", "Charlie", "Ash", "Morgan"]
LAST_NAMES = ["Rivera", "Moreno", "Lee", "Patel", "Okafor", "Nakamura", "Silva"]
RETURN_REASONS = [
    ("ecom_order_delivered_refund_and_return_reason_damaged", "Damaged item"),
    ("ecom_order_delivered_refund_and_return_reason_wrong_item", "Wrong item"),
    ("ecom_order_delivered_refund_and_return_reason_not_needed", "No longer needed"),
]


def _digits(rng: random.Random, prefix: str, length: int = 18) -> str:
    return prefix + "".join(
        rng.choice("0123456789") for _ in range(length - len(prefix))
    )


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def recipient_address(rng: random.Random, region: str) -> dict:
    place = REGIONS.get(region, REGIONS["GB"])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, postal_code = rng.choice(place["cities"])
    state = rng.choice(place["states"])
    line1 = f"{rng.randint(1, 250)} {rng.choice(place['streets'])}"
    return {
        "full_address": f"{line1}, {city}, {postal_code}",
        "phone_number": "(+44)77***-1234",
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "address_detail": "",
        "address_line1": line1,
        "address_line2": rng.choice(["", "Flat 2", "Suite 100"]),
        "address_line3": " ",
        "address_line4": " ",
        "district_info": [
            {
                "address_level_name": "Country",
                "address_name": place["country"],
                "address_level": "L0",
                "iso_code": region,
            },
            {
                "address_level_name": "State",
                "address_name": state,
                "address_level": "L1",
                "iso_code": "",
            },
            {
                "address_level_name": "City",
                "address_name": city,
                "address_level": "L3",
                "iso_code": "",
            },
        ],
        "delivery_preferences": {"drop_off_location": "Front Door"},
        "postal_code": postal_code,
        "region_code": region,
        "post_town": city,
    }


def _line_items(rng, skus, status, currency) -> list[dict]:
    chosen = rng.sample(skus, k=min(len(skus), rng.randint(1, 3)))
    items = []
    for sku in chosen:
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            display = "CANCELLED" if status == "CANCELLED" else status
            items.append(
                {
                    "id": _digits(rng, "577"),
                    "sku_id": sku.sku_id,
                    "product_id": sku.product.product_id,
                    "product_name": sku.product.title,
                    "sku_name": sku.seller_sku,
                    "seller_sku": sku.seller_sku,
                    "sku_image": "",
                    "original_price": sku.sale_price,
                    "sale_price": sku.sale_price,
                    "platform_discount": "0",
                    "seller_discount": "0",
                    "currency": currency,
                    "sku_type": "NORMAL",
                    "display_status": display,
                    "package_status": "CANCELLED"
                    if status == "CANCELLED"
                    else "TO_FULFILL",
                    "is_gift": False,
                    "item_tax": [],
                }
            )
    return items


def _payment(items: list[dict], currency: str, rng: random.Random) -> dict:
    subtotal = sum((Decimal(item["sale_price"]) for item in items), Decimal("0"))
    shipping = Decimal(rng.choice(["0", "2.99", "3.99"]))
    return {
        "currency": currency,
        "sub_total": _money(subtotal),
        "shipping_fee": _money(shipping),
        "seller_discount": "0",
        "platform_discount": "0",
        "original_total_product_price": _money(subtotal),
        "original_shipping_fee": _money(shipping),
        "tax": "0",
        "total_amount": _money(subtotal + shipping),
    }


def order_payload(
    rng: random.Random,
    shop: SandboxShop,
    *,
    status: str,
    fulfilled_by_tiktok: bool,
    create_time: int,
) -> dict:
    """Build one TikTok order object (without the columns the model holds)."""
    skus = [sku for product in shop.products.all() for sku in product.skus.all()]
    if not skus:
        raise ValueError(
            f"Shop {shop.shop_id} has no products; add some with add_products() first."
        )
    currency = REGIONS.get(shop.region, REGIONS["GB"])["currency"]
    items = _line_items(rng, skus, status, currency)
    payload = {
        "buyer_email": f"{_digits(rng, 'b', 8)}@scs.tiktokw.us",
        "buyer_message": "",
        "delivery_type": "HOME_DELIVERY",
        "delivery_option_name": "Standard Shipping",
        "is_cod": False,
        "is_on_hold_order": status == "ON_HOLD",
        "is_sample_order": False,
        "is_replacement_order": False,
        "has_updated_recipient_address": False,
        "paid_time": None if status == "UNPAID" else create_time + 60,
        "payment": _payment(items, currency, rng),
        "line_items": items,
        "packages": [],
        "commerce_platform": "TIKTOK_SHOP",
    }
    if status not in NO_ADDRESS_STATUSES:
        payload["recipient_address"] = recipient_address(rng, shop.region)
    if status == "CANCELLED":
        payload.update(
            {
                "cancel_reason": "No longer needed",
                "cancellation_initiator": "BUYER",
                "cancel_time": create_time + 600,
            }
        )
    if fulfilled_by_tiktok:
        payload["shipping_type"] = "TIKTOK"
    return payload


def _status_choice(rng: random.Random, region: str) -> str:
    weights = dict(ORDER_STATUS_WEIGHTS)
    if region != "GB":
        # TikTok documents ON_HOLD for UK shops only.
        weights.pop("ON_HOLD")
    statuses = list(weights)
    return rng.choices(statuses, weights=[weights[s] for s in statuses])[0]


def generate_orders(
    shop: SandboxShop,
    count: int,
    *,
    seed: int = 0,
    now: int,
    statuses: list[str] | None = None,
    spread_seconds: int = 7 * 86400,
) -> list[SandboxOrder]:
    """Create ``count`` orders placed over ``spread_seconds`` before ``now``.

    ``statuses`` cycles through the given statuses in place of the weighted
    mix. Orders in every shipped status get a package with tracking.
    """
    from .models import SandboxPackage

    rng = random.Random(f"{shop.shop_id}:{seed}")
    warehouses = list(shop.warehouses.filter(type="SALES_WAREHOUSE").order_by("pk"))
    options = list(shop.delivery_options.order_by("pk"))
    orders = []
    for index in range(count):
        status = (
            statuses[index % len(statuses)]
            if statuses
            else _status_choice(rng, shop.region)
        )
        fulfilled_by_tiktok = rng.random() < FULFILLED_BY_TIKTOK_SHARE
        create_time = now - rng.randint(600, spread_seconds)
        update_time = min(now, create_time + rng.randint(0, 3600))
        payload = order_payload(
            rng,
            shop,
            status=status,
            fulfilled_by_tiktok=fulfilled_by_tiktok,
            create_time=create_time,
        )
        option = options[0] if options else None
        order = SandboxOrder.objects.create(
            shop=shop,
            order_id=_digits(rng, "576"),
            status=status,
            fulfillment_type="FULFILLMENT_BY_TIKTOK"
            if fulfilled_by_tiktok
            else "FULFILLMENT_BY_SELLER",
            shipping_type="TIKTOK" if fulfilled_by_tiktok else "SELLER",
            warehouse_id=rng.choice(warehouses).warehouse_id if warehouses else "",
            delivery_option_id=option.option_id if option else "",
            buyer_user_id=_digits(rng, "70", 19),
            create_time=create_time,
            update_time=update_time,
            payload=payload,
        )
        if status in SHIPPED_STATUSES and option and option.shipping_providers:
            provider = option.shipping_providers[0]
            tracking = f"JX{rng.randint(10000000, 99999999)}"
            package = SandboxPackage.objects.create(
                order=order,
                package_id=_digits(rng, "115"),
                status=LINE_DISPLAY_AFTER_SHIPPING[status][1],
                tracking_number=tracking,
                shipping_provider_id=provider["id"],
                shipping_provider_name=provider["name"],
                order_line_item_ids=[item["id"] for item in payload["line_items"]],
                create_time=update_time,
                update_time=update_time,
            )
            display, package_status = LINE_DISPLAY_AFTER_SHIPPING[status]
            for item in payload["line_items"]:
                item.update(
                    {
                        "display_status": display,
                        "package_id": package.package_id,
                        "package_status": package_status,
                        "tracking_number": tracking,
                        "shipping_provider_id": provider["id"],
                        "shipping_provider_name": provider["name"],
                    }
                )
            payload["tracking_number"] = tracking
            payload["shipping_provider"] = provider["name"]
            payload["shipping_provider_id"] = provider["id"]
            order.save(update_fields=["payload"])
        orders.append(order)
    return orders


def return_payload(rng: random.Random, order: SandboxOrder) -> dict:
    items = [
        item
        for item in order.payload.get("line_items") or []
        if item.get("display_status") != "CANCELLED"
    ]
    returned = items[: max(1, len(items) // 2)]
    reason, reason_text = rng.choice(RETURN_REASONS)
    currency = (order.payload.get("payment") or {}).get("currency", "")
    total = sum((Decimal(item["sale_price"]) for item in returned), Decimal("0"))
    return {
        "role": "BUYER",
        "return_reason": reason,
        "return_reason_text": reason_text,
        "shipment_type": "PLATFORM",
        "handover_method": "DROP_OFF",
        "return_method": "DROP_OFF",
        "can_buyer_keep_item": False,
        "arbitration_status": "",
        "is_combined_return": False,
        "refund_amount": {
            "currency": currency,
            "refund_total": _money(total),
            "refund_subtotal": _money(total),
            "refund_shipping_fee": "0.00",
            "refund_tax": "0.00",
        },
        "return_line_items": [
            {
                "return_line_item_id": _digits(rng, "804"),
                "order_line_item_id": item["id"],
                "sku_id": item["sku_id"],
                "sku_name": item["sku_name"],
                "product_name": item["product_name"],
                "seller_sku": item["seller_sku"],
                "product_image": {"url": "", "width": 0, "height": 0},
                "refund_amount": {
                    "currency": currency,
                    "refund_total": item["sale_price"],
                },
            }
            for item in returned
        ],
    }


def generate_returns(
    shop: SandboxShop, count: int, *, seed: int = 0, now: int
) -> list[SandboxReturn]:
    """Create up to ``count`` returns on the shop's delivered or completed orders."""
    rng = random.Random(f"{shop.shop_id}:returns:{seed}")
    orders = list(
        shop.orders.filter(status__in=("DELIVERED", "COMPLETED"))
        .exclude(returns__isnull=False)
        .order_by("pk")
    )
    returns = []
    for order in orders[:count]:
        create_time = min(now, order.update_time + rng.randint(3600, 86400))
        returns.append(
            SandboxReturn.objects.create(
                shop=shop,
                order=order,
                return_id=_digits(rng, "403"),
                return_type="RETURN_AND_REFUND",
                return_status=rng.choice(
                    [
                        "RETURN_OR_REFUND_REQUEST_PENDING",
                        "AWAITING_BUYER_SHIP",
                        "BUYER_SHIPPED_ITEM",
                        "RETURN_OR_REFUND_REQUEST_COMPLETE",
                    ]
                ),
                create_time=create_time,
                update_time=min(now, create_time + rng.randint(0, 3600)),
                payload=return_payload(rng, order),
            )
        )
    return returns
