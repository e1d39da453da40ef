"""Signed calls to the sandbox through Django's test client."""

import json
import time
from urllib.parse import urlencode

from connectors.tiktok.sandbox import api
from connectors.tiktok.signing import sign_request

PREFIX = "/sandbox/tiktok"
APP_KEY = "sandboxkey1"
APP_SECRET = "sandbox-secret-1"
SERVICE_ID = "7310000000000000099"
REDIRECT_URL = "http://testserver/integrations/tiktok/callback"


def make_world(with_products: bool = True):
    """An app, shops in GB, US and MY, and a token granting all three."""
    app = api.ensure_app(APP_KEY, APP_SECRET, SERVICE_ID, redirect_url=REDIRECT_URL)
    shops = [api.ensure_shop(region) for region in ("GB", "US", "MY")]
    if with_products:
        api.add_products(
            shops[0],
            [
                {"title": "Socks", "seller_sku": "SOCK-RED", "price": "4.50"},
                {"title": "Hat", "seller_sku": "HAT-1", "price": "12.00"},
            ],
        )
    token = api.issue_token(app, shops)
    return app, shops, token


def call(
    client,
    method: str,
    path: str,
    *,
    token=None,
    cipher=None,
    query=None,
    body=None,
    raw_body: bytes | None = None,
    content_type: str = "application/json",
    app_key: str | None = APP_KEY,
    secret: str = APP_SECRET,
    timestamp: int | None = None,
    sign: str | None = None,
    with_sign: bool = True,
):
    """Sign and send one Open API call; return (HTTP status, envelope)."""
    params = {key: str(value) for key, value in (query or {}).items()}
    if app_key is not None:
        params["app_key"] = app_key
    params["timestamp"] = str(int(time.time()) if timestamp is None else timestamp)
    if cipher is not None:
        params["shop_cipher"] = cipher
    data = raw_body if raw_body is not None else b""
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode()
    full_path = PREFIX + path
    if with_sign:
        params["sign"] = sign or sign_request(
            secret, full_path, params, data, content_type
        )
    headers = {}
    if token is not None:
        headers["x-tts-access-token"] = (
            token if isinstance(token, str) else token.access_token
        )
    response = client.generic(
        method,
        f"{full_path}?{urlencode(params)}",
        data=data,
        content_type=content_type,
        headers=headers,
    )
    return response.status_code, response.json()
