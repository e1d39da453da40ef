"""The demo data set: a catalog, two UK locations with stock, a THG
connector pointed at the THG sandbox, and sandbox-side orders.

:func:`load` is idempotent: running it again changes nothing that is
already there, so the demo can be started any number of times.
"""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog import gtin
from catalog.models import ChannelListing, Product
from inventory.models import ExternalLocation, Location, StockLevel

from .models import Connector

logger = logging.getLogger(__name__)

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "junction-demo"
THG_CONNECTOR_NAME = "THG Demo"
THG_REALM = "junction-demo"
THG_CLIENT_ID = "junction-hub"
# A value for the sandbox only; it is encrypted at rest like any other secret.
THG_CLIENT_SECRET = "sandbox-client-secret-7Hq2"
THG_INBOUND_USERNAME = "thg-demo"
THG_INBOUND_PASSWORD = "sandbox-inbound-password-Lk9"
TIKTOK_CONNECTOR_NAME = "TikTok Demo"
TIKTOK_APP_KEY = "junctiondemo"
# A value for the sandbox only; it is encrypted at rest like any other secret.
TIKTOK_APP_SECRET = "sandbox-app-secret-Qm4"
TIKTOK_SERVICE_ID = "7300000000000000001"
# GS1 company prefix for the demo catalog's UPCs.
UPC_PREFIX = "501234567"

LOCATIONS = [
    {
        "name": "Leeds",
        "code": "leeds",
        "external_id": "WH-LEEDS-01",
        "address_line1": "Unit 4, Stourton Link",
        "city": "Leeds",
        "region": "West Yorkshire",
        "postal_code": "LS10 1RW",
        "latitude": "53.772500",
        "longitude": "-1.522100",
    },
    {
        "name": "Manchester",
        "code": "manchester",
        "external_id": "WH-MCR-02",
        "address_line1": "Trafford Park Road",
        "city": "Manchester",
        "region": "Greater Manchester",
        "postal_code": "M17 1AN",
        "latitude": "53.468600",
        "longitude": "-2.306700",
    },
]

PRODUCTS = [
    ("MUG-BLUE", "Blue mug"),
    ("MUG-RED", "Red mug"),
    ("MUG-GREEN", "Green mug"),
    ("TEE-WHT-S", "White tee, S"),
    ("TEE-WHT-M", "White tee, M"),
    ("TEE-WHT-L", "White tee, L"),
    ("TEE-BLK-S", "Black tee, S"),
    ("TEE-BLK-M", "Black tee, M"),
    ("TEE-BLK-L", "Black tee, L"),
    ("HOOD-GRY-M", "Grey hoodie, M"),
    ("HOOD-GRY-L", "Grey hoodie, L"),
    ("CAP-NVY", "Navy cap"),
    ("SOCK-3PK", "Socks, 3 pack"),
    ("BOTTLE-750", "Steel bottle, 750 ml"),
    ("TOTE-CANVAS", "Canvas tote"),
    ("NOTE-A5", "A5 notebook"),
    ("PEN-SET", "Pen set"),
    ("CANDLE-FIG", "Fig candle"),
    ("CANDLE-SEA", "Sea salt candle"),
    ("PROT-VAN-1KG", "Whey protein, vanilla, 1 kg"),
    ("PROT-CHO-1KG", "Whey protein, chocolate, 1 kg"),
    ("BAR-PB-12", "Protein bars, peanut, 12"),
    ("SHAKER-600", "Shaker, 600 ml"),
    ("SERUM-VITC", "Vitamin C serum"),
    ("CREAM-NIGHT", "Night cream"),
    ("MASK-CLAY", "Clay mask"),
    ("BALM-LIP", "Lip balm"),
    ("SPF-50", "Sun cream SPF 50"),
]


@dataclass(frozen=True)
class DemoSummary:
    connector: Connector
    products: int
    sandbox_orders: int


def demo_upc(index: int) -> str:
    """Return the index-th demo UPC as EAN-13: prefix, item number, check digit."""
    body = f"{UPC_PREFIX}{index:03d}"
    return body + str(gtin.check_digit(body))


def _stock_for(index: int, location_index: int) -> int:
    # Deterministic, uneven stock: some items only at one location, a few
    # low, so that routing has choices to make.
    return [(index * 7 + 3) % 25, (index * 5 + 11) % 18][location_index]


@transaction.atomic
def load(base_url: str) -> DemoSummary:
    """Create the demo data (where missing) and point the connector at ``base_url``."""
    _ensure_superuser()
    connector = _ensure_thg_connector(base_url)
    products = _ensure_products(connector)
    _ensure_locations(connector, products)
    orders = _ensure_sandbox(connector, products)
    _ensure_tiktok(base_url, products)
    return DemoSummary(
        connector=connector, products=len(products), sandbox_orders=orders
    )


def _ensure_superuser() -> None:
    users = get_user_model()
    if not users.objects.filter(username=DEMO_USERNAME).exists():
        users.objects.create_superuser(
            DEMO_USERNAME, "admin@example.test", DEMO_PASSWORD
        )


def _ensure_thg_connector(base_url: str) -> Connector:
    sandbox_url = base_url.rstrip("/") + "/sandbox/thg"
    connector, created = Connector.objects.get_or_create(
        name=THG_CONNECTOR_NAME,
        defaults={
            "kind": Connector.Kind.THG,
            "identifier_strategy": Connector.IdentifierStrategy.CHANNEL_SKU,
            "thg_realm": THG_REALM,
            "thg_client_id": THG_CLIENT_ID,
            "thg_client_secret": THG_CLIENT_SECRET,
            "thg_locations": "\n".join(
                f"{spec['name']}:{spec['external_id']}" for spec in LOCATIONS
            ),
            "inbound_username": THG_INBOUND_USERNAME,
            "status": Connector.Status.CONNECTED,
            "orders_interval_minutes": 1,
            "fulfillments_interval_minutes": 1,
            "inventory_interval_minutes": 2,
        },
    )
    if created:
        connector.set_inbound_password(THG_INBOUND_PASSWORD)
    # The port can change between runs; the endpoints follow it.
    connector.api_url = sandbox_url
    connector.auth_url = sandbox_url
    connector.save()
    return connector


def _ensure_products(connector: Connector) -> list[Product]:
    products = []
    for index, (sku, name) in enumerate(PRODUCTS, start=1):
        upc = demo_upc(index)
        product, _ = Product.objects.get_or_create(
            sku=sku, defaults={"name": name, "upc": gtin.normalize(upc)}
        )
        ChannelListing.objects.get_or_create(
            product=product,
            connector=connector,
            defaults={"channel_sku": gtin.normalize(upc)},
        )
        products.append(product)
    return products


def _ensure_locations(connector: Connector, products: list[Product]) -> None:
    from inventory import stock
    from inventory.models import StockMovement

    for location_index, spec in enumerate(LOCATIONS):
        fields = {k: v for k, v in spec.items() if k not in ("name", "external_id")}
        location, created = Location.objects.get_or_create(
            name=spec["name"], defaults={**fields, "coordinates_source": "manual"}
        )
        ExternalLocation.objects.get_or_create(
            connector=connector,
            location=location,
            defaults={
                "external_id": spec["external_id"],
                "external_name": spec["name"],
            },
        )
        if not created and StockLevel.objects.filter(location=location).exists():
            continue
        for index, product in enumerate(products, start=1):
            stock.set_on_hand(
                product,
                location,
                _stock_for(index, location_index),
                reason=StockMovement.Reason.IMPORT,
                reference="demo data",
            )


def _ensure_sandbox(connector: Connector, products: list[Product]) -> int:
    from connectors.thg.sandbox import services as sandbox
    from connectors.thg.sandbox.models import SandboxOrder

    account = sandbox.ensure_account(
        THG_REALM, THG_CLIENT_ID, THG_CLIENT_SECRET, active=True
    )
    sandbox.set_warehouses(
        account, [(spec["external_id"], spec["name"]) for spec in LOCATIONS]
    )
    sandbox.add_listings(
        account,
        [(gtin.as_ean13(product.upc), product.name) for product in products],
    )
    orders = SandboxOrder.objects.filter(account=account)
    if not orders.exists():
        sandbox.generate_orders(account, 20, seed=2026)
    return orders.count()


def _ensure_tiktok(base_url: str, products: list[Product]) -> Connector:
    """A TikTok Shop connector already authorized against the TikTok sandbox's
    GB shop, whose two sales warehouses are the demo's two locations."""
    from datetime import UTC, datetime

    from connectors.tiktok.sandbox import api as tiktok
    from connectors.tiktok.sandbox.models import SandboxOrder as TikTokOrder

    sandbox_url = base_url.rstrip("/") + "/sandbox/tiktok"
    connector, created = Connector.objects.get_or_create(
        name=TIKTOK_CONNECTOR_NAME,
        defaults={
            "kind": Connector.Kind.TIKTOK_SHOP,
            "tiktok_app_key": TIKTOK_APP_KEY,
            "tiktok_app_secret": TIKTOK_APP_SECRET,
            "tiktok_service_id": TIKTOK_SERVICE_ID,
            "status": Connector.Status.CONNECTED,
            "orders_interval_minutes": 1,
            "fulfillments_interval_minutes": 1,
            "inventory_interval_minutes": 2,
            "locations_enabled": False,
            # The sandbox shop lists the demo catalog. Pulling it links each
            # hub product to its TikTok SKU, which the inventory push needs.
            "tiktok_catalog_mode": Connector.CatalogMode.PULL,
        },
    )
    connector.api_url = sandbox_url
    connector.auth_url = sandbox_url
    app = tiktok.ensure_app(
        TIKTOK_APP_KEY,
        TIKTOK_APP_SECRET,
        TIKTOK_SERVICE_ID,
        redirect_url=f"{base_url.rstrip('/')}/integrations/tiktok/callback",
        webhook_url=f"{base_url.rstrip('/')}/integrations/tiktok/"
        f"{connector.key}/webhooks",
        name="Junction demo app",
    )
    shop = tiktok.ensure_shop("GB")
    if created:
        token = tiktok.issue_token(app, [shop])
        connector.tiktok_access_token = token.access_token
        connector.tiktok_access_token_expires_at = datetime.fromtimestamp(
            token.access_expires_at, UTC
        )
        connector.tiktok_refresh_token = token.refresh_token
        connector.tiktok_refresh_token_expires_at = datetime.fromtimestamp(
            token.refresh_expires_at, UTC
        )
        connector.tiktok_shop_id = shop.shop_id
        connector.tiktok_shop_cipher = shop.cipher
        connector.tiktok_shop_region = shop.region
    connector.save()

    warehouses = list(shop.warehouses.filter(type="SALES_WAREHOUSE").order_by("pk"))
    for warehouse, spec in zip(warehouses, LOCATIONS, strict=False):
        location = Location.objects.get(name=spec["name"])
        ExternalLocation.objects.get_or_create(
            connector=connector,
            location=location,
            defaults={
                "external_id": warehouse.warehouse_id,
                "external_name": warehouse.name,
            },
        )
    tiktok.add_products(
        shop,
        [
            {"title": product.name, "seller_sku": product.sku, "price": "12.00"}
            for product in products
        ],
    )
    if not TikTokOrder.objects.filter(shop=shop).exists():
        tiktok.generate_orders(shop, 12, seed=2026)
    return connector
