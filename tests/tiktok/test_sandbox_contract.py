"""The sandbox's checks, in the order TikTok applies them, through the test client."""

import re
import time

import pytest

from connectors.tiktok.sandbox import api
from connectors.tiktok.sandbox.models import SandboxApp, SandboxToken
from connectors.tiktok.signing import sign_request

from .sandbox_helpers import APP_KEY, APP_SECRET, call, make_world

SHOPS = "/authorization/202309/shops"
WAREHOUSES = "/logistics/202309/warehouses"


@pytest.fixture
def world(db):
    return make_world()


def test_envelope_shape(client, world):
    _, shops, token = world

    status, answer = call(client, "GET", SHOPS, token=token)

    assert status == 200
    assert set(answer) == {"code", "message", "request_id", "data"}
    assert answer["code"] == 0
    assert answer["message"] == "Success"
    assert re.fullmatch(r"\d{14}[0-9A-F]{20}", answer["request_id"])
    assert [shop["region"] for shop in answer["data"]["shops"]] == ["GB", "US", "MY"]
    assert answer["data"]["shops"][0]["cipher"] == shops[0].cipher


def test_unknown_path_36009009(client, world):
    status, answer = call(client, "GET", "/order/202309/nothing", token=world[2])

    assert status == 404
    assert answer["code"] == 36009009
    assert answer["data"] is None


def test_wrong_method_36009010(client, world):
    status, answer = call(client, "GET", "/order/202309/orders/search", token=world[2])

    assert status == 405
    assert answer["code"] == 36009010


def test_path_checked_before_app_key(client, world):
    status, answer = call(client, "GET", "/nothing", app_key="nobody")

    assert answer["code"] == 36009009


def test_unknown_app_key(client, world):
    status, answer = call(client, "GET", SHOPS, token=world[2], app_key="nobody")

    assert answer["code"] == 36009004
    assert "app_key" in answer["message"]


def test_missing_app_key(client, world):
    status, answer = call(client, "GET", SHOPS, token=world[2], app_key=None)

    assert answer["code"] == 36009004
    assert "app_key" in answer["message"]


def test_missing_sign(client, world):
    status, answer = call(client, "GET", SHOPS, token=world[2], with_sign=False)

    assert answer["code"] == 36009004
    assert answer["message"] == (
        "Missing credentials. The request does not include a required signature "
        "in the query."
    )


@pytest.mark.parametrize(
    ("offset", "words"),
    # Two seconds past each limit, so the clock ticking during the call
    # cannot bring the timestamp back inside the window.
    [
        (-302, "earlier than 5 minutes"),
        (32, "exceed the current time by more than 30 seconds"),
    ],
)
def test_timestamp_window(client, world, offset, words):
    status, answer = call(
        client, "GET", SHOPS, token=world[2], timestamp=int(time.time()) + offset
    )

    assert answer["code"] == 36009004
    assert words in answer["message"]


def test_timestamp_inside_window_accepted(client, world):
    now = int(time.time())

    early = call(client, "GET", SHOPS, token=world[2], timestamp=now - 290)[1]
    late = call(client, "GET", SHOPS, token=world[2], timestamp=now + 20)[1]

    assert early["code"] == 0
    assert late["code"] == 0


def test_negative_timestamp(client, world):
    status, answer = call(client, "GET", SHOPS, token=world[2], timestamp=-5)

    assert answer["code"] == 36009004
    assert "lesser than 0" in answer["message"]


def test_timestamp_checked_before_sign(client, world):
    status, answer = call(
        client, "GET", SHOPS, token=world[2], timestamp=1623812664, sign="0" * 64
    )

    assert answer["code"] == 36009004
    assert "timestamp" in answer["message"]


def test_wrong_sign_106001_http_401(client, world):
    status, answer = call(client, "GET", SHOPS, token=world[2], secret="wrong")

    assert status == 401
    assert answer["code"] == 106001
    assert answer["message"] == (
        "Invalid credentials. The sign query parameter is invalid."
    )


def test_sign_covers_body_bytes(client, world):
    _, shops, token = world
    now = int(time.time())
    params = {
        "page_size": "10",
        "app_key": APP_KEY,
        "timestamp": str(now),
        "shop_cipher": shops[0].cipher,
    }
    compact = b'{"order_status":"UNPAID"}'
    sign = sign_request(
        APP_SECRET, "/sandbox/tiktok/order/202309/orders/search", params, compact
    )
    search = "/order/202309/orders/search"

    same = call(
        client,
        "POST",
        search,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        raw_body=compact,
        timestamp=now,
        sign=sign,
    )
    spaced = call(
        client,
        "POST",
        search,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        raw_body=b'{"order_status": "UNPAID"}',
        timestamp=now,
        sign=sign,
    )

    assert same[1]["code"] == 0
    assert spaced[1]["code"] == 106001


def test_sign_checked_before_token(client, world):
    status, answer = call(client, "GET", SHOPS, token="TTP_unknown", secret="wrong")

    assert answer["code"] == 106001


def test_missing_token(client, world):
    status, answer = call(client, "GET", SHOPS)

    assert answer["code"] == 36009004
    assert answer["message"] == (
        "Invalid credentials. The x-tts-access-token header is invalid."
    )


def test_unknown_token(client, world):
    status, answer = call(client, "GET", SHOPS, token="TTP_unknown")

    assert answer["code"] == 36009004
    assert "x-tts-access-token" in answer["message"]


def test_expired_token_105002(client, world):
    api.expire_access_tokens(APP_KEY)

    status, answer = call(client, "GET", SHOPS, token=world[2])

    assert answer["code"] == 105002


def test_token_checked_before_shop_cipher(client, world):
    api.expire_access_tokens(APP_KEY)

    status, answer = call(client, "GET", WAREHOUSES, token=world[2])

    assert answer["code"] == 105002


def test_missing_shop_cipher_106013(client, world):
    status, answer = call(client, "GET", WAREHOUSES, token=world[2])

    assert answer["code"] == 106013
    assert "shop_cipher" in answer["message"]


def test_unexpected_shop_cipher(client, world):
    _, shops, token = world

    status, answer = call(client, "GET", SHOPS, token=token, cipher=shops[0].cipher)

    assert answer["code"] == 36009004
    assert answer["message"].startswith("Unexpected identifier.")


def test_unknown_shop_cipher(client, world):
    status, answer = call(client, "GET", WAREHOUSES, token=world[2], cipher="ROW_x")

    assert answer["code"] == 36009004
    assert answer["message"].startswith("Invalid identifier.")


def test_shop_not_granted_to_token(client, world):
    app, shops, _ = world
    narrow = api.issue_token(app, [shops[1]])

    status, answer = call(
        client, "GET", WAREHOUSES, token=narrow, cipher=shops[0].cipher
    )

    assert answer["code"] == 36009004


def test_legacy_shop_id_rejected(client, world):
    _, shops, token = world

    status, answer = call(
        client,
        "GET",
        WAREHOUSES,
        token=token,
        cipher=shops[0].cipher,
        query={"shop_id": shops[0].shop_id},
    )

    assert answer["code"] == 36009004
    assert "shop_id" in answer["message"]


def test_body_not_json_36009022(client, world):
    _, shops, token = world

    status, answer = call(
        client,
        "POST",
        "/order/202309/orders/search",
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        raw_body=b"a=1",
        content_type="application/x-www-form-urlencoded",
    )

    assert answer["code"] == 36009022


def test_throttling_429_counts_down(client, world):
    api.set_throttling(APP_KEY, calls=2)

    first = call(client, "GET", SHOPS, token=world[2])
    second = call(client, "GET", SHOPS, token=world[2])
    third = call(client, "GET", SHOPS, token=world[2])

    assert first[0] == 429
    assert first[1]["code"] == 36009002
    assert second[0] == 429
    assert third[0] == 200
    assert SandboxApp.objects.get(app_key=APP_KEY).throttle_remaining == 0


def test_throttling_every_call_until_off(client, world):
    api.set_throttling(APP_KEY)

    throttled = [call(client, "GET", SHOPS, token=world[2])[0] for _ in range(3)]
    api.set_throttling(APP_KEY, calls=0)
    after = call(client, "GET", SHOPS, token=world[2])[0]

    assert throttled == [429, 429, 429]
    assert after == 200


def test_tokens_are_per_app(client, world):
    other = api.ensure_app("otherkey", "other-secret", "7310000000000000100")
    foreign = api.issue_token(other, [world[1][0]])

    status, answer = call(client, "GET", SHOPS, token=foreign)

    assert answer["code"] == 36009004
    assert SandboxToken.objects.filter(app=other).count() == 1
