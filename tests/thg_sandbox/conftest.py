from decimal import Decimal

import pytest

from connectors.thg.sandbox import services
from connectors.thg.sandbox.generator import GeneratedLine
from connectors.thg.sandbox.orders import create_order

REALM = "junction-test"
CLIENT_ID = "hub-client"
CLIENT_SECRET = "s3cret-client-value"
TOKEN_PATH = f"/sandbox/thg/realms/{REALM}/protocol/openid-connect/token"
API = "/sandbox/thg/v1"
LISTINGS = [
    ("5012345678900", "Blue mug"),
    ("5012345678917", "Red mug"),
    ("5012345678924", "Tea towel"),
    ("5012345678931", "Cafetiere"),
    ("5012345678948", "Teapot"),
    ("036000291452", "Biscuit tin"),
]


@pytest.fixture
def account(db):
    account = services.ensure_account(REALM, CLIENT_ID, CLIENT_SECRET, active=True)
    services.set_warehouses(
        account, [("WH-LEEDS-01", "Leeds"), ("WH-BRISTOL-02", "Bristol")]
    )
    services.add_listings(account, LISTINGS)
    return account


def fetch_token(client) -> str:
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


class APIClient:
    """The Django test client with a bearer token on every call."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, params=None):
        return self.client.get(API + path, params or {}, headers=self._headers())

    def post(self, path, body=None):
        return self.client.post(
            API + path,
            body if body is not None else {},
            content_type="application/json",
            headers=self._headers(),
        )

    def put(self, path, body):
        return self.client.put(
            API + path, body, content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def api(client, account):
    return APIClient(client, fetch_token(client))


def error_of(response) -> dict:
    body = response.json()
    assert len(body["errors"]) == 1
    return body["errors"][0]


def two_line_order(account):
    """Create an order with line 1 (2 blue mugs) and line 2 (1 red mug)."""
    return create_order(
        account,
        customer={"name": "Isla Hughes", "email": "isla.hughes@example.test"},
        address={
            "name": "Isla Hughes",
            "line1": "12 High Street",
            "line2": "",
            "city": "Leeds",
            "county": "West Yorkshire",
            "postcode": "LS1 4AP",
            "country_code": "GB",
        },
        lines=[
            GeneratedLine("1", "5012345678900", "", "Blue mug", 2, Decimal("9.99")),
            GeneratedLine("2", "5012345678917", "", "Red mug", 1, Decimal("9.99")),
        ],
    )
