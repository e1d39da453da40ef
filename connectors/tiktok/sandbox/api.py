"""The sandbox's Python API, for the demo command and the tests.

Every function is idempotent where its name says "ensure". Apps and shops
may be passed as objects or by app key and shop id.
"""

import hashlib
import random
import secrets
import time

from django.db import transaction

from . import events, generator
from .models import (
    SandboxApp,
    SandboxAuthCode,
    SandboxDeliveryOption,
    SandboxInventory,
    SandboxOrder,
    SandboxProduct,
    SandboxShop,
    SandboxSku,
    SandboxToken,
    SandboxWarehouse,
    SandboxWebhookDelivery,
)

AUTH_CODE_SECONDS = 30 * 60

SHIPPING_PROVIDERS = {
    "GB": ["Royal Mail", "DPD", "Evri"],
    "US": ["USPS", "UPS", "FedEx"],
    "MY": ["J&T Express", "Pos Laju", "Ninja Van"],
}
SHOP_ADDRESSES = {
    "GB": ("United Kingdom", "England", "Leeds", "LS1 4AP"),
    "US": ("United States", "California", "San Jose", "95110"),
    "MY": ("Malaysia", "Selangor", "Shah Alam", "40000"),
}
CURRENCIES = {"GB": "GBP", "US": "USD", "MY": "MYR"}


def _stable_digits(*parts, length: int = 19, prefix: str = "7") -> str:
    """Make an id that is the same for the same inputs, across runs."""
    digest = int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest(), 16)
    return (prefix + str(digest))[:length]


def _app(app) -> SandboxApp:
    return app if isinstance(app, SandboxApp) else SandboxApp.objects.get(app_key=app)


def _shop(shop) -> SandboxShop:
    return (
        shop if isinstance(shop, SandboxShop) else SandboxShop.objects.get(shop_id=shop)
    )


def ensure_app(
    app_key: str,
    app_secret: str,
    service_id: str,
    *,
    redirect_url: str | None = None,
    webhook_url: str | None = None,
    name: str | None = None,
    send_status_webhooks: bool | None = None,
) -> SandboxApp:
    """Create or update a sandbox app; only the arguments given are changed."""
    app, _ = SandboxApp.objects.get_or_create(
        app_key=app_key,
        defaults={"app_secret": app_secret, "service_id": service_id},
    )
    app.app_secret = app_secret
    app.service_id = service_id
    for field, value in (
        ("redirect_url", redirect_url),
        ("webhook_url", webhook_url),
        ("name", name),
        ("send_status_webhooks", send_status_webhooks),
    ):
        if value is not None:
            setattr(app, field, value)
    app.save()
    return app


def _warehouse_address(region: str, name: str) -> dict:
    country, state, city, postal_code = SHOP_ADDRESSES.get(region, SHOP_ADDRESSES["GB"])
    return {
        "region": country,
        "state": state,
        "city": city,
        "distict": "Centre",
        "town": "",
        "contact_person": "Warehouse desk",
        "postal_code": postal_code,
        "full_address": f"1 {name} Way, {city}",
        "region_code": region,
        "phone_number": "188****2234",
        "address_line1": f"1 {name} Way",
        "address_line2": "",
        "address_line3": "",
        "address_line4": "",
    }


def ensure_shop(
    region: str,
    *,
    shop_id: str | None = None,
    name: str | None = None,
    seller_type: str = "LOCAL",
) -> SandboxShop:
    """Create a shop with two sales warehouses, a return warehouse and a
    delivery option with the region's carriers; an existing shop is kept."""
    region = region.upper()
    shop_id = shop_id or _stable_digits("shop", region)
    shop, created = SandboxShop.objects.get_or_create(
        shop_id=shop_id,
        defaults={
            "name": name or f"Junction Demo {region}",
            "region": region,
            "seller_type": seller_type,
            "cipher": ("ROW_" if region != "US" else "TTP_")
            + secrets.token_urlsafe(24),
            "code": f"{region}LCJUNC{shop_id[-4:]}",
            "seller_name": "Junction Demo Seller",
        },
    )
    if not created:
        return shop
    for index, (label, kind) in enumerate(
        [
            ("Main", "SALES_WAREHOUSE"),
            ("North", "SALES_WAREHOUSE"),
            ("Returns", "RETURN_WAREHOUSE"),
        ]
    ):
        SandboxWarehouse.objects.create(
            shop=shop,
            warehouse_id=_stable_digits("warehouse", shop_id, label),
            name=f"{region} {label}",
            type=kind,
            is_default=index == 0,
            address=_warehouse_address(region, label),
        )
    SandboxDeliveryOption.objects.create(
        shop=shop,
        option_id=_stable_digits("delivery", shop_id),
        name="Standard Shipping",
        shipping_providers=[
            {"id": _stable_digits("provider", region, carrier), "name": carrier}
            for carrier in SHIPPING_PROVIDERS.get(region, SHIPPING_PROVIDERS["GB"])
        ],
    )
    return shop


def add_products(shop, products: list[dict], *, quantity: int = 100) -> list:
    """Create or update products, each ``{"title", "skus": [{"seller_sku", ...}]}``.

    A product may also be given as one SKU: ``{"title", "seller_sku",
    "price"}``. Each SKU may carry ``inventory`` (warehouse id → units);
    otherwise it gets ``quantity`` units in the shop's default warehouse.
    Ids derive from the shop and the seller SKU (the product's from
    ``product_key`` when given), so one seller SKU names one SKU. A SKU's
    own ``sku_id`` overrides that, which lets two SKUs share a seller SKU
    as they can on TikTok.
    """
    shop = _shop(shop)
    now = int(time.time())
    default = shop.warehouses.filter(is_default=True).first()
    warehouses = {w.warehouse_id: w for w in shop.warehouses.all()}
    created = []
    for spec in products:
        skus = spec.get("skus") or [spec]
        key = spec.get("product_key") or skus[0]["seller_sku"]
        product, _ = SandboxProduct.objects.update_or_create(
            product_id=_stable_digits("product", shop.shop_id, key, prefix="17"),
            defaults={
                "shop": shop,
                "title": spec.get("title") or key,
                "description": spec.get("description", ""),
                "status": spec.get("status", "ACTIVATE"),
                "create_time": now,
                "update_time": now,
            },
        )
        for sku_spec in skus:
            sku, _ = SandboxSku.objects.update_or_create(
                sku_id=sku_spec.get("sku_id")
                or _stable_digits(
                    "sku", shop.shop_id, sku_spec["seller_sku"], prefix="17"
                ),
                defaults={
                    "product": product,
                    "seller_sku": sku_spec["seller_sku"],
                    "sale_price": str(sku_spec.get("price", "10.00")),
                    "currency": CURRENCIES.get(shop.region, "GBP"),
                },
            )
            stock = sku_spec.get("inventory") or (
                {default.warehouse_id: quantity} if default else {}
            )
            for warehouse_id, units in stock.items():
                SandboxInventory.objects.update_or_create(
                    sku=sku,
                    warehouse=warehouses[warehouse_id],
                    defaults={"quantity": units},
                )
        created.append(product)
    return created


def generate_orders(shop, count: int, *, seed: int = 0, statuses=None, now=None):
    """Create ``count`` seeded orders (see :mod:`.generator`)."""
    return generator.generate_orders(
        _shop(shop),
        count,
        seed=seed,
        statuses=statuses,
        now=int(now or time.time()),
    )


def generate_returns(shop, count: int, *, seed: int = 0, now=None):
    return generator.generate_returns(
        _shop(shop), count, seed=seed, now=int(now or time.time())
    )


def create_auth_code(app, shops=None, *, now=None) -> SandboxAuthCode:
    """Issue a single-use auth code granting ``shops`` (default: every shop)."""
    app = _app(app)
    now = int(now or time.time())
    shops = (
        list(shops) if shops is not None else list(SandboxShop.objects.order_by("pk"))
    )
    code = SandboxAuthCode.objects.create(
        app=app,
        code="ROW_" + secrets.token_urlsafe(32),
        expires_at=now + AUTH_CODE_SECONDS,
    )
    code.shops.set([_shop(shop) for shop in shops])
    return code


def issue_token(app, shops, *, now=None) -> SandboxToken:
    """Create an access and refresh token pair for ``shops``."""
    app = _app(app)
    now = int(now or time.time())
    token = SandboxToken.objects.create(
        app=app,
        open_id=_stable_digits("open", app.app_key),
        access_token="TTP_" + secrets.token_urlsafe(32),
        access_expires_at=now + app.access_token_lifetime,
        refresh_token="TTP_" + secrets.token_urlsafe(32),
        refresh_expires_at=now + app.refresh_token_lifetime,
    )
    token.shops.set(list(shops))
    return token


def send_webhook(
    app,
    shop,
    event_type: int,
    data: dict,
    *,
    notification_id: str | None = None,
    with_notification_id: bool = True,
    url: str = "",
) -> SandboxWebhookDelivery:
    """Post one signed webhook now (to ``url`` or the app's webhook URL)."""
    app = _app(app)
    body = events.webhook_body(
        event_type,
        _shop(shop).shop_id,
        data,
        notification_id=notification_id,
        with_notification_id=with_notification_id,
    )
    return events.post_webhook(app, body, url=url)


def set_throttling(app, calls: int = -1) -> None:
    """Reject the next ``calls`` signed calls with HTTP 429 (-1: all, 0: off)."""
    SandboxApp.objects.filter(pk=_app(app).pk).update(throttle_remaining=calls)


def expire_access_tokens(app, *, now=None) -> int:
    """Make every access token of ``app`` expired; return how many."""
    now = int(now or time.time())
    return SandboxToken.objects.filter(app=_app(app)).update(access_expires_at=now - 1)


NEXT_STATUS = {
    "UNPAID": "AWAITING_SHIPMENT",
    "ON_HOLD": "AWAITING_SHIPMENT",
    "AWAITING_COLLECTION": "IN_TRANSIT",
    "IN_TRANSIT": "DELIVERED",
    "DELIVERED": "COMPLETED",
}


def advance_order(order_id: str, *, now=None) -> SandboxOrder:
    """Move an order one step: paid, or on along the carrier's scans."""
    now = int(now or time.time())
    with transaction.atomic():
        order = SandboxOrder.objects.select_for_update().get(order_id=order_id)
        status = NEXT_STATUS.get(order.status)
        if status is None:
            raise ValueError(
                f"Order {order_id} is {order.status}; the sandbox moves only "
                f"{', '.join(NEXT_STATUS)} orders on."
            )
        if order.status in generator.NO_ADDRESS_STATUSES:
            rng = random.Random(order.order_id)
            order.payload["recipient_address"] = generator.recipient_address(
                rng, order.shop.region
            )
            order.payload["is_on_hold_order"] = False
            order.payload["paid_time"] = now
        for item in order.payload.get("line_items") or []:
            if item.get("display_status") != "CANCELLED":
                item["display_status"] = status
                if status in generator.LINE_DISPLAY_AFTER_SHIPPING:
                    item["package_status"] = generator.LINE_DISPLAY_AFTER_SHIPPING[
                        status
                    ][1]
        order.status = status
        order.update_time = now
        order.save(update_fields=["status", "payload", "update_time"])
        events.order_status_changed(order)
    return order
