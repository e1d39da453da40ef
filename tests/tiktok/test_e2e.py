"""The hub's real client against the sandbox over real HTTP (loopback only)."""

import threading

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.models import Connector, InboundEvent
from connectors.sync import run_stream
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.sandbox import api
from connectors.tiktok.sandbox.models import SandboxToken
from orders.models import Order

pytestmark = pytest.mark.e2e

APP_KEY = "e2eappkey"
APP_SECRET = "e2e-app-secret"
SERVICE_ID = "7310000000000000777"


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
    # Let the server threads see the closed sockets while the live server
    # still shares the test database connection with them.
    for thread in set(threading.enumerate()) - before:
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


def _browser(user) -> requests.Session:
    """A requests session logged in as ``user`` (the admin's session cookie)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def _world(base: str):
    api.ensure_app(
        APP_KEY,
        APP_SECRET,
        SERVICE_ID,
        redirect_url=f"{base}/integrations/tiktok/callback",
    )
    shops = [api.ensure_shop(region) for region in ("GB", "US", "MY")]
    connector = Connector.objects.create(
        kind=Connector.Kind.TIKTOK_SHOP,
        name="TikTok e2e",
        api_url=f"{base}/sandbox/tiktok",
        auth_url=f"{base}/sandbox/tiktok",
        tiktok_app_key=APP_KEY,
        tiktok_app_secret=APP_SECRET,
        tiktok_service_id=SERVICE_ID,
    )
    return shops, connector


def _connect(base: str, connector: Connector, user, query: str = ""):
    browser = _browser(user)
    start = browser.get(
        f"{base}/integrations/tiktok/{connector.pk}/connect{query}",
        allow_redirects=False,
    )
    authorize = browser.get(start.headers["Location"], allow_redirects=False)
    callback = browser.get(authorize.headers["Location"], allow_redirects=False)
    return browser, start, authorize, callback


def test_connect_callback_shops_over_http(live_server, transactional_db):
    base = live_server.url
    shops, connector = _world(base)
    user = get_user_model().objects.create_user("ops", is_staff=True, is_superuser=True)

    browser, start, authorize, callback = _connect(base, connector, user)

    assert start.status_code == 302
    assert start.headers["Location"].startswith(
        f"{base}/sandbox/tiktok/oauth/authorize?service_id={SERVICE_ID}&state="
    )
    assert authorize.status_code == 302
    assert authorize.headers["Location"].startswith(
        f"{base}/integrations/tiktok/callback?"
    )
    assert "shop_region=GB" in authorize.headers["Location"]
    assert callback.status_code == 302
    assert callback.headers["Location"] == (
        f"/admin/connectors/connector/{connector.pk}/change/"
    )
    page = browser.get(f"{base}/admin/")
    assert f"Connected to TikTok Shop: {shops[0].name} (GB, shop id " in page.text

    connector.refresh_from_db()
    token = SandboxToken.objects.get(app__app_key=APP_KEY)
    assert connector.status == Connector.Status.CONNECTED
    assert connector.tiktok_access_token == token.access_token
    assert connector.tiktok_refresh_token == token.refresh_token
    assert int(connector.tiktok_access_token_expires_at.timestamp()) == (
        token.access_expires_at
    )
    assert connector.tiktok_shop_id == shops[0].shop_id
    assert connector.tiktok_shop_cipher == shops[0].cipher
    assert connector.tiktok_shop_region == "GB"

    listed = TikTokClient(connector).get_authorized_shops()
    assert [shop["region"] for shop in listed] == ["GB", "US", "MY"]


def test_connect_chosen_shop_over_http(live_server, transactional_db):
    base = live_server.url
    shops, connector = _world(base)
    user = get_user_model().objects.create_user("ops", is_staff=True)

    _connect(base, connector, user, f"?shop_id={shops[2].shop_id}")

    connector.refresh_from_db()
    assert connector.tiktok_shop_id == shops[2].shop_id
    assert connector.tiktok_shop_region == "MY"


def test_orders_pages_refresh_and_webhook_over_http(live_server, transactional_db):
    base = live_server.url
    shops, connector = _world(base)
    user = get_user_model().objects.create_user("ops", is_staff=True)
    _connect(base, connector, user)
    connector.refresh_from_db()
    api.add_products(shops[0], [{"title": "Socks", "seller_sku": "SOCK-RED"}])
    api.generate_orders(shops[0], 23, seed=4)
    client = TikTokClient(connector)

    tokens, ids, page_token = [], [], ""
    while True:
        page = client.search_orders({}, page_size=10, page_token=page_token)
        ids.extend(order["id"] for order in page.items)
        if page.is_last:
            break
        page_token = page.next_page_token
        tokens.append(page_token)

    assert len(ids) == 23
    assert len(set(ids)) == 23
    assert all("+" in token and "/" in token for token in tokens)

    # An expired access token is refreshed once, and both tokens rotate.
    old_refresh = connector.tiktok_refresh_token
    api.expire_access_tokens(APP_KEY)
    warehouses = TikTokClient(connector).get_warehouses()
    connector.refresh_from_db()
    assert len(warehouses) == 3
    assert connector.tiktok_refresh_token != old_refresh
    assert SandboxToken.objects.filter(app__app_key=APP_KEY).count() == 2

    run = run_stream(connector, "orders", "command")
    assert run.status == "succeeded", run.error
    assert Order.objects.filter(connector=connector).count() == 23

    api.ensure_app(
        APP_KEY,
        APP_SECRET,
        SERVICE_ID,
        webhook_url=f"{base}/integrations/tiktok/{connector.key}/webhooks",
    )
    order = shops[0].orders.order_by("pk").first()
    delivery = api.send_webhook(
        APP_KEY,
        shops[0],
        1,
        {
            "order_id": order.order_id,
            "order_status": order.status,
            "is_on_hold_order": False,
            "update_time": order.update_time,
        },
    )
    assert delivery.status_code == 200
    event = InboundEvent.objects.get(connector=connector)
    assert event.event_type == "ORDER_STATUS_CHANGE"
    assert event.status == InboundEvent.Status.PROCESSED, event.error
