"""The catalog stream's pull and push against the sandbox over real HTTP
(loopback only)."""

import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import call_command

from catalog.models import ChannelListing, Product
from connectors.models import Connector, SyncRun, SyncState
from connectors.sync import enabled_streams, run_stream
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.sandbox import api
from connectors.tiktok.sandbox.models import SandboxProduct, SandboxSku
from orders.models import OrderException, OrderLine

pytestmark = pytest.mark.e2e

APP_KEY = "catalogappkey"
APP_SECRET = "catalog-app-secret"
SERVICE_ID = "7310000000000000555"
SEARCH_PATH = "/sandbox/tiktok/product/202502/products/search"
CREATE_PATH = "/sandbox/tiktok/product/202309/products"


@pytest.fixture(autouse=True)
def close_sessions(monkeypatch, live_server, transactional_db):
    """Close every HTTP session a test opens, so no kept-alive connection
    outlives the test inside the live server's threads."""
    opened = []
    original = requests.Session.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(requests.Session, "__init__", remember)
    # The live server lives for the whole session; join only the request
    # threads this test started, not ones other tests' clients keep alive.
    before = set(threading.enumerate())
    yield
    for session in opened:
        session.close()
    for thread in set(threading.enumerate()) - before:
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


@pytest.fixture
def sent(monkeypatch):
    """Record (method, path) of every HTTP request the hub sends."""
    calls = []
    original = requests.Session.send

    def record(self, request, **kwargs):
        calls.append((request.method, urlsplit(request.url).path))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", record)
    return calls


def _authorized(base: str, region: str, mode: str) -> tuple:
    """A sandbox shop and a connector already authorized for it."""
    app = api.ensure_app(APP_KEY, APP_SECRET, SERVICE_ID)
    shop = api.ensure_shop(region)
    token = api.issue_token(app, [shop])
    connector = Connector.objects.create(
        kind=Connector.Kind.TIKTOK_SHOP,
        name=f"TikTok {region}",
        status=Connector.Status.CONNECTED,
        api_url=f"{base}/sandbox/tiktok",
        auth_url=f"{base}/sandbox/tiktok",
        tiktok_app_key=APP_KEY,
        tiktok_app_secret=APP_SECRET,
        tiktok_service_id=SERVICE_ID,
        tiktok_access_token=token.access_token,
        tiktok_access_token_expires_at=datetime.fromtimestamp(
            token.access_expires_at, UTC
        ),
        tiktok_refresh_token=token.refresh_token,
        tiktok_refresh_token_expires_at=datetime.fromtimestamp(
            token.refresh_expires_at, UTC
        ),
        tiktok_shop_id=shop.shop_id,
        tiktok_shop_cipher=shop.cipher,
        tiktok_shop_region=shop.region,
        tiktok_catalog_mode=mode,
    )
    return shop, connector


def _tiktok_rows(connector) -> dict[str, tuple]:
    return {
        row.product.sku: (row.channel_product_id, row.channel_sku_id, row.channel_sku)
        for row in ChannelListing.objects.filter(connector=connector).select_related(
            "product"
        )
    }


def _sandbox_ids(shop) -> dict[str, tuple[str, str]]:
    return {
        sku.seller_sku.strip(): (sku.product.product_id, sku.sku_id)
        for sku in SandboxSku.objects.filter(product__shop=shop).select_related(
            "product"
        )
    }


# Pull ---------------------------------------------------------------------


def test_pull_creates_products_and_rows(live_server):
    shop, connector = _authorized(live_server.url, "GB", "pull")
    api.add_products(
        shop,
        [{"title": f"Mug {n}", "seller_sku": f"MUG-{n:03d}"} for n in range(103)]
        + [
            {
                "title": "Tee",
                "product_key": "tee",
                "skus": [{"seller_sku": " TEE-S "}, {"seller_sku": "TEE-M"}],
            }
        ],
    )
    Product.objects.create(sku="MUG-000", name="Old mug name")

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.updated, run.failed) == (105, 104, 1, 0)
    expected = _sandbox_ids(shop)
    assert len(expected) == 105
    rows = _tiktok_rows(connector)
    assert rows == {sku: (*ids, None) for sku, ids in expected.items()}
    assert Product.objects.get(sku="MUG-000").name == "Mug 0"
    assert Product.objects.get(sku="TEE-S").name == "Tee"
    assert Product.objects.filter(sku=" TEE-S ").exists() is False
    state = SyncState.objects.get(connector=connector, stream="catalog")
    assert run.started_at <= state.cursor_time <= run.finished_at


def test_pull_twice_changes_nothing(live_server):
    shop, connector = _authorized(live_server.url, "GB", "pull")
    api.add_products(
        shop,
        [
            {"title": "Socks", "seller_sku": "SOCK-RED"},
            {"title": "Hat", "seller_sku": "HAT-1"},
        ],
    )
    first = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)
    rows = _tiktok_rows(connector)

    second = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert first.status == second.status == SyncRun.Status.SUCCEEDED
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.fetched, second.created, second.updated) == (2, 0, 0)
    assert second.unchanged == 2
    assert Product.objects.count() == 2
    assert ChannelListing.objects.filter(connector=connector).count() == 2
    assert _tiktok_rows(connector) == rows


def test_pull_second_run_searches_from_cursor(live_server, sent):
    shop, connector = _authorized(live_server.url, "GB", "pull")
    api.add_products(shop, [{"title": "Socks", "seller_sku": "SOCK-RED"}])
    run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)
    # Products last updated long before the cursor are outside the window.
    SandboxProduct.objects.filter(shop=shop).update(update_time=1600000000)

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.fetched == 0
    assert [path for _, path in sent].count(SEARCH_PATH) == 2


def test_pull_duplicate_and_empty_seller_skus_fail(live_server):
    shop, connector = _authorized(live_server.url, "GB", "pull")
    api.add_products(
        shop,
        [
            {"title": "Blue mug", "seller_sku": "DUP-1"},
            {
                "title": "Blue mug again",
                "product_key": "dup-again",
                "skus": [{"seller_sku": "DUP-1", "sku_id": "1799999999999999991"}],
            },
            {
                "title": "No SKU",
                "product_key": "no-sku",
                "skus": [{"seller_sku": "  ", "sku_id": "1799999999999999992"}],
            },
            {"title": "Cap", "seller_sku": "CAP-1"},
        ],
    )

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.failed) == (4, 1, 3)
    assert list(Product.objects.values_list("sku", flat=True)) == ["CAP-1"]
    assert "1 TikTok SKUs have no seller SKU" in run.error
    assert "2 TikTok SKUs share a seller SKU with another" in run.error


def test_pull_clears_unmatched_order_lines(live_server):
    shop, connector = _authorized(live_server.url, "GB", "disabled")
    api.add_products(shop, [{"title": "Socks", "seller_sku": "SOCK-RED"}])
    api.generate_orders(shop, 3, seed=7, statuses=["AWAITING_SHIPMENT"])
    orders = run_stream(connector, "orders", SyncRun.Trigger.COMMAND)
    unmatched = OrderException.objects.filter(
        order__connector=connector,
        kind=OrderException.Kind.UNMATCHED_LINE,
        resolved_at__isnull=True,
    )
    assert orders.status == SyncRun.Status.SUCCEEDED, orders.error
    assert unmatched.count() == 3
    Connector.objects.filter(pk=connector.pk).update(tiktok_catalog_mode="pull")
    connector.refresh_from_db()

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert unmatched.count() == 0
    product = Product.objects.get(sku="SOCK-RED")
    lines = OrderLine.objects.filter(order__connector=connector)
    assert {line.product_id for line in lines} == {product.pk}


# Push ---------------------------------------------------------------------


def test_push_creates_products_on_tiktok(live_server, sent):
    shop, connector = _authorized(live_server.url, "GB", "push")
    api.add_products(shop, [{"title": "Hat", "seller_sku": "HAT-1"}])
    mug = Product.objects.create(sku="MUG-BLUE", name="Blue mug & lid")
    hat = Product.objects.create(sku="HAT-1", name="Hat")
    linked = Product.objects.create(sku="TEE-S", name="Tee")
    ChannelListing.objects.create(
        product=linked,
        connector=connector,
        channel_product_id="1700000000000000001",
        channel_sku_id="1700000000000000002",
    )
    switched_off = Product.objects.create(sku="CAP-1", name="Cap")
    ChannelListing.objects.create(
        product=switched_off, connector=connector, active=False
    )
    Product.objects.create(sku="OLD-1", name="Old", active=False)
    parent = Product.objects.create(sku="HOOD", name="Hoodie")
    variant = Product.objects.create(sku="HOOD-M", name="Hoodie, M", parent=parent)
    Product.objects.create(sku="X" * 51, name="Long SKU")

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert (run.fetched, run.created, run.updated, run.failed) == (4, 2, 1, 1)
    assert run.error == (
        "1 hub products were not created on TikTok; see the log for each reason."
    )
    created = SandboxSku.objects.select_related("product").get(seller_sku="MUG-BLUE")
    assert created.product.shop == shop
    assert created.product.title == "Blue mug & lid"
    assert created.product.description == "<p>Blue mug &amp; lid</p>"
    assert created.product.status == "PENDING"
    assert (created.sale_price, created.currency) == ("0.01", "GBP")
    rows = _tiktok_rows(connector)
    assert rows["MUG-BLUE"] == (created.product.product_id, created.sku_id, None)
    hood = SandboxSku.objects.select_related("product").get(seller_sku="HOOD-M")
    assert rows["HOOD-M"] == (hood.product.product_id, hood.sku_id, None)
    assert rows["HAT-1"] == (*_sandbox_ids(shop)["HAT-1"], None)
    assert rows["TEE-S"] == ("1700000000000000001", "1700000000000000002", None)
    assert rows["CAP-1"] == ("", "", None)
    skipped = ["HOOD", "CAP-1", "OLD-1", "TEE-S", "X" * 51]
    assert SandboxSku.objects.filter(seller_sku__in=skipped).count() == 0
    assert [path for _, path in sent].count(CREATE_PATH) == 2
    assert {mug.pk, hat.pk, variant.pk} <= set(
        ChannelListing.objects.filter(connector=connector).values_list(
            "product_id", flat=True
        )
    )


def test_push_twice_creates_nothing_more(live_server, sent):
    shop, connector = _authorized(live_server.url, "US", "push")
    Product.objects.create(sku="MUG-BLUE", name="Blue mug")
    first = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    second = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert (first.created, second.fetched, second.created) == (1, 0, 0)
    assert SandboxProduct.objects.filter(shop=shop).count() == 1
    assert SandboxSku.objects.get().currency == "USD"
    assert [path for _, path in sent].count(CREATE_PATH) == 1


def test_pushed_product_live_after_next_search(live_server):
    shop, connector = _authorized(live_server.url, "GB", "push")
    Product.objects.create(sku="MUG-BLUE", name="Blue mug")
    run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    page = TikTokClient(connector).search_products({"seller_skus": ["MUG-BLUE"]})

    assert [product["status"] for product in page.items] == ["ACTIVATE"]
    assert SandboxProduct.objects.get(shop=shop).status == "ACTIVATE"


def test_push_rejected_for_my_shop(live_server, sent):
    shop, connector = _authorized(live_server.url, "MY", "push")
    Product.objects.create(sku="MUG-BLUE", name="Blue mug")

    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == (
        "Pushing products to TikTok Shop is available only for US and GB shops, "
        "and this shop's region is MY. Maintain the catalog in TikTok Shop "
        "directly, and choose pull or disabled here."
    )
    assert sent == []
    assert SandboxProduct.objects.filter(shop=shop).count() == 0
    assert ChannelListing.objects.filter(connector=connector).count() == 0


# Disabled -----------------------------------------------------------------


def test_disabled_makes_no_catalog_call(live_server, sent):
    shop, connector = _authorized(live_server.url, "GB", "disabled")
    api.add_products(shop, [{"title": "Socks", "seller_sku": "SOCK-RED"}])
    Product.objects.create(sku="MUG-BLUE", name="Blue mug")

    call_command("sync", connector.name)
    explicit = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert "catalog" not in enabled_streams(connector)
    assert SyncRun.objects.filter(connector=connector, stream="catalog").count() == 1
    assert explicit.status == SyncRun.Status.SUCCEEDED
    assert explicit.progress == "Catalog sync is disabled on this connector."
    paths = {path for _, path in sent}
    assert SEARCH_PATH not in paths
    assert CREATE_PATH not in paths
    assert "/sandbox/tiktok/order/202309/orders/search" in paths
    assert ChannelListing.objects.filter(connector=connector).count() == 0
    assert SandboxProduct.objects.filter(shop=shop).count() == 1
