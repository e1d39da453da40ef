import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from connectors.models import Connector

SAMPLES = Path(__file__).parent / "samples"

APP_KEY = "29a39d"
APP_SECRET = "e59af819cc"
SHOP_CIPHER = "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"
API_URL = "https://tiktok.test"


def load_sample(name: str) -> dict:
    """Load one of TikTok's documented response samples, as published."""
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def pauses(monkeypatch):
    """Record the client's back-off pauses in place of sleeping."""
    recorded = []
    monkeypatch.setattr("connectors.tiktok.client._pause", recorded.append)
    return recorded


@pytest.fixture
def sample():
    return load_sample


@pytest.fixture
def connector(db):
    """A connected TikTok Shop connector pointing at a fake host."""
    now = timezone.now()
    return Connector.objects.create(
        kind=Connector.Kind.TIKTOK_SHOP,
        name="TikTok GB",
        status=Connector.Status.CONNECTED,
        api_url=API_URL,
        auth_url=API_URL,
        tiktok_app_key=APP_KEY,
        tiktok_app_secret=APP_SECRET,
        tiktok_service_id="7310000000000000001",
        tiktok_access_token="TTP_access_token_one",
        tiktok_access_token_expires_at=now + timedelta(days=6),
        tiktok_refresh_token="TTP_refresh_token_one",
        tiktok_refresh_token_expires_at=now + timedelta(days=300),
        tiktok_shop_id="7000714532876273420",
        tiktok_shop_cipher=SHOP_CIPHER,
        tiktok_shop_region="GB",
    )
