import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.doctor.context import DoctorContext
from connectors.doctor.runner import CHECKS
from connectors.models import Connector, SyncRun
from connectors.schedules import sync_schedules
from connectors.sync import enabled_streams, run_stream
from connectors.thg.client import token_cache
from connectors.tiktok.sandbox import api as tiktok_sandbox
from inventory.models import ExternalLocation, Location
from tests.e2e.thg_world import build_world

TIKTOK_APP_KEY = "doctorappkey"
TIKTOK_APP_SECRET = "doctor-app-secret"
TIKTOK_SERVICE_ID = "7310000000000000555"


@pytest.fixture(autouse=True)
def fresh_tokens():
    token_cache.clear()
    yield
    token_cache.clear()


def closed_port_url() -> str:
    """Return a loopback URL on a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sync_all(connector: Connector) -> list[SyncRun]:
    """Run every enabled stream once, as the schedule would, and return the runs."""
    runs = [
        run_stream(connector, stream, SyncRun.Trigger.COMMAND)
        for stream in enabled_streams(connector)
    ]
    connector.refresh_from_db()
    return runs


def make_healthy(connector: Connector) -> None:
    """Give the connector recent successful runs and its schedules."""
    runs = sync_all(connector)
    failed = [(run.stream, run.error) for run in runs if run.status != "succeeded"]
    assert failed == []
    sync_schedules(connector)


def run_check(connector: Connector, check_id: str, *, now=None):
    """Run one check on its own (no other check's channel calls)."""
    check = next(check for check in CHECKS if check.id == check_id)
    context = DoctorContext(connector, now=now)
    try:
        return check.function(context)
    finally:
        context.close()


def by_code(findings) -> dict:
    return {finding.code: finding for finding in findings}


def offline_connector(**fields) -> Connector:
    """A THG connector pointed at a closed loopback port, for data-only checks."""
    url = closed_port_url()
    values = {
        "kind": Connector.Kind.THG,
        "name": "THG data",
        "status": Connector.Status.CONNECTED,
        "identifier_strategy": Connector.IdentifierStrategy.CHANNEL_SKU,
        "thg_realm": "data",
        "thg_client_id": "hub",
        "thg_client_secret": "data-client-secret",
        "api_url": url,
        "auth_url": url,
        **fields,
    }
    return Connector.objects.create(**values)


def offline_tiktok(**fields) -> Connector:
    url = closed_port_url()
    now = timezone.now()
    values = {
        "kind": Connector.Kind.TIKTOK_SHOP,
        "name": "TikTok data",
        "status": Connector.Status.CONNECTED,
        "api_url": url,
        "auth_url": url,
        "tiktok_app_key": TIKTOK_APP_KEY,
        "tiktok_app_secret": TIKTOK_APP_SECRET,
        "tiktok_access_token": "TTP_offline_access",
        "tiktok_access_token_expires_at": now + timedelta(days=6),
        "tiktok_refresh_token": "TTP_offline_refresh",
        "tiktok_refresh_token_expires_at": now + timedelta(days=300),
        "tiktok_shop_id": "7000000000000000001",
        "tiktok_shop_cipher": "ROW_offline_cipher",
        **fields,
    }
    return Connector.objects.create(**values)


@pytest.fixture
def world(live_server):
    """A THG connector with catalog, stock and an active sandbox account."""
    return build_world(live_server.url, name="THG Doctor")


@pytest.fixture
def healthy_world(world):
    make_healthy(world.connector)
    return world


class TikTokWorld:
    def __init__(self, connector, shop, token, locations):
        self.connector = connector
        self.shop = shop
        self.token = token
        self.locations = locations


def build_tiktok_world(live_server_url: str, *, link_all: bool = True) -> TikTokWorld:
    """A TikTok Shop connector authorized on the sandbox's GB shop, with its
    sales warehouses linked to hub locations."""
    base = f"{live_server_url}/sandbox/tiktok"
    app = tiktok_sandbox.ensure_app(
        TIKTOK_APP_KEY,
        TIKTOK_APP_SECRET,
        TIKTOK_SERVICE_ID,
        redirect_url=f"{live_server_url}/integrations/tiktok/callback",
    )
    shop = tiktok_sandbox.ensure_shop("GB")
    token = tiktok_sandbox.issue_token(app, [shop])
    connector = Connector.objects.create(
        kind=Connector.Kind.TIKTOK_SHOP,
        name="TikTok Doctor",
        status=Connector.Status.CONNECTED,
        api_url=base,
        auth_url=base,
        tiktok_app_key=TIKTOK_APP_KEY,
        tiktok_app_secret=TIKTOK_APP_SECRET,
        tiktok_service_id=TIKTOK_SERVICE_ID,
        tiktok_access_token=token.access_token,
        tiktok_access_token_expires_at=_from_epoch(token.access_expires_at),
        tiktok_refresh_token=token.refresh_token,
        tiktok_refresh_token_expires_at=_from_epoch(token.refresh_expires_at),
        tiktok_shop_id=shop.shop_id,
        tiktok_shop_cipher=shop.cipher,
        tiktok_shop_region="GB",
    )
    warehouses = shop.warehouses.filter(type="SALES_WAREHOUSE").order_by("pk")
    if not link_all:
        warehouses = warehouses[:1]
    locations = []
    for warehouse in warehouses:
        location = Location.objects.create(
            name=warehouse.name,
            code=warehouse.name.lower().replace(" ", "-"),
            postal_code="LS1 4AP",
            city="Leeds",
        )
        ExternalLocation.objects.create(
            connector=connector, location=location, external_id=warehouse.warehouse_id
        )
        locations.append(location)
    return TikTokWorld(connector, shop, token, locations)


def _from_epoch(value: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(value, tz=UTC)


@pytest.fixture
def tiktok_world(live_server):
    return build_tiktok_world(live_server.url)
