import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from django.utils import timezone

from connectors.errors import AuthenticationError, PermanentError, RetryableError
from connectors.models import Connector
from connectors.records import StockItemResult
from connectors.tiktok import errors
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.signing import sign_request

from .conftest import API_URL, APP_KEY, APP_SECRET, SHOP_CIPHER

NOW = 1750000000
PAGE_TOKEN = (
    "6AsPQsUMvH3RkchNUPPh22NROHkE0D8pmq/N5M1kHYcZmtRyv9aVrNv65W7Q6tFA+7D1ud64MPNz5OaT"
)


def _client(connector):
    return TikTokClient(connector, clock=lambda: NOW)


def _envelope(data=None, code=0, message="Success"):
    return {
        "code": code,
        "message": message,
        "request_id": "202203070749000101890810281E8C70B7",
        "data": data,
    }


def _query(request) -> dict:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def _token_answer(access="TTP_access_two", refresh="TTP_refresh_two"):
    return _envelope(
        {
            "access_token": access,
            "access_token_expire_in": NOW + 604800,
            "refresh_token": refresh,
            "refresh_token_expire_in": NOW + 31536000,
            "open_id": "7010736057180325637",
            "seller_name": "Test Seller",
            "seller_base_region": "GB",
            "user_type": 0,
            "granted_scopes": ["seller.order.info"],
        },
        message="success",
    )


def _fresh(connector):
    """Make the stored access token valid for days after the fixed clock."""
    connector.tiktok_access_token_expires_at = datetime.fromtimestamp(
        NOW + 5 * 86400, tz=UTC
    )
    connector.tiktok_refresh_token_expires_at = datetime.fromtimestamp(
        NOW + 300 * 86400, tz=UTC
    )
    connector.save()
    return connector


@responses.activate
def test_signed_post_sends_the_signed_bytes(connector):
    _fresh(connector)
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json=_envelope({"orders": [], "next_page_token": "", "total_count": 0}),
    )

    _client(connector).search_orders({"update_time_ge": 1623800000, "name": "Zoë"})

    request = responses.calls[0].request
    query = _query(request)
    assert request.body == '{"update_time_ge":1623800000,"name":"Zoë"}'.encode()
    assert query["app_key"] == APP_KEY
    assert query["timestamp"] == str(NOW)
    assert query["shop_cipher"] == SHOP_CIPHER
    assert query["page_size"] == "100"
    assert query["sort_field"] == "update_time"
    assert query["sort_order"] == "ASC"
    unsigned = {key: value for key, value in query.items() if key != "sign"}
    expected = sign_request(
        APP_SECRET, "/order/202309/orders/search", unsigned, request.body
    )
    assert query["sign"] == expected
    assert request.headers["x-tts-access-token"] == "TTP_access_token_one"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Junction/0.1")


@responses.activate
def test_page_token_encoded_and_signed_decoded(connector):
    _fresh(connector)
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json=_envelope({"orders": [{"id": "1"}], "next_page_token": PAGE_TOKEN}),
    )

    page = _client(connector).search_orders({}, page_token=PAGE_TOKEN)

    request = responses.calls[0].request
    raw_query = urlsplit(request.url).query
    assert "%2B" in raw_query
    assert "%2F" in raw_query
    query = _query(request)
    assert query["page_token"] == PAGE_TOKEN
    unsigned = {key: value for key, value in query.items() if key != "sign"}
    assert query["sign"] == sign_request(
        APP_SECRET, "/order/202309/orders/search", unsigned, request.body
    )
    assert page.items == [{"id": "1"}]
    assert page.next_page_token == PAGE_TOKEN
    assert page.is_last is False


@responses.activate
def test_api_url_with_prefix_signs_full_path(connector):
    connector.api_url = "http://127.0.0.1:9/sandbox/tiktok/"
    _fresh(connector)
    responses.get(
        "http://127.0.0.1:9/sandbox/tiktok/authorization/202309/shops",
        json=_envelope({"shops": []}),
    )

    _client(connector).get_authorized_shops()

    request = responses.calls[0].request
    query = _query(request)
    unsigned = {key: value for key, value in query.items() if key != "sign"}
    assert query["sign"] == sign_request(
        APP_SECRET, "/sandbox/tiktok/authorization/202309/shops", unsigned
    )


@responses.activate
def test_shops_call_sends_no_shop_cipher(connector, sample):
    _fresh(connector)
    answer = sample("authorization_202309_shops")
    responses.get(f"{API_URL}/authorization/202309/shops", json=answer)

    shops = _client(connector).get_authorized_shops()

    assert "shop_cipher" not in _query(responses.calls[0].request)
    assert shops == answer["data"]["shops"]


@responses.activate
def test_error_code_wins_over_http_200(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses",
        json=_envelope(None, code=21008111, message="The order does not belong"),
        status=200,
    )

    with pytest.raises(errors.TikTokPermanentError) as caught:
        _client(connector).get_warehouses()

    assert caught.value.code == "21008111"
    assert caught.value.status == 200
    assert caught.value.request_id == "202203070749000101890810281E8C70B7"
    assert isinstance(caught.value, PermanentError)


@responses.activate
def test_success_code_wins_over_http_status(connector, sample):
    _fresh(connector)
    answer = sample("logistics_202309_warehouses")
    responses.get(f"{API_URL}/logistics/202309/warehouses", json=answer, status=201)

    warehouses = _client(connector).get_warehouses()

    assert warehouses[0]["id"] == "7000714532876273410"


@pytest.mark.parametrize(
    ("status", "code", "message", "error_class", "base"),
    [
        (
            401,
            106001,
            "Invalid credentials. The sign query parameter is invalid.",
            errors.InvalidSignatureError,
            AuthenticationError,
        ),
        (429, 36009002, "Too many requests.", errors.ThrottledError, RetryableError),
        (
            200,
            36009003,
            "Internal error. Please try again.",
            errors.ServerError,
            RetryableError,
        ),
        (200, 36009007, "Request timeout.", errors.ServerError, RetryableError),
        (
            200,
            36009004,
            "Invalid credentials. The x-tts-access-token header is invalid.",
            errors.InvalidTokenError,
            AuthenticationError,
        ),
        (
            200,
            36009004,
            "Invalid timestamp. The timestamp query parameter must not "
            "be earlier than 5 minutes before the current time.",
            errors.InvalidTimestampError,
            PermanentError,
        ),
        (
            200,
            36009004,
            "Unexpected identifier. The shop_cipher query parameter is "
            "not required for this request.",
            errors.ShopCipherError,
            PermanentError,
        ),
        (
            200,
            36009004,
            "Invalid credentials. The app_key query parameter is invalid.",
            errors.InvalidAppKeyError,
            AuthenticationError,
        ),
        (
            200,
            106013,
            "Missing identifier. The shop_cipher query parameter is required.",
            errors.ShopCipherError,
            PermanentError,
        ),
        (200, 105005, "Access denied.", errors.AccessDeniedError, AuthenticationError),
    ],
)
@responses.activate
def test_error_classes(connector, status, code, message, error_class, base):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses",
        json=_envelope(None, code=code, message=message),
        status=status,
    )

    with pytest.raises(error_class) as caught:
        _client(connector).get_warehouses()

    assert isinstance(caught.value, base)
    assert caught.value.code == str(code)
    assert caught.value.detail == message


@responses.activate
def test_http_429_text_body_throttled(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses",
        body="slow down",
        status=429,
        headers={"Retry-After": "7"},
    )

    with pytest.raises(errors.ThrottledError) as caught:
        _client(connector).get_warehouses()

    assert caught.value.retry_after == 7.0


@responses.activate
def test_throttled_call_retried_then_succeeds(connector, pauses):
    _fresh(connector)
    url = f"{API_URL}/logistics/202309/warehouses"
    responses.get(
        url, json=_envelope(None, code=36009002, message="Too many"), status=429
    )
    responses.get(url, json=_envelope({"warehouses": [{"id": "1"}]}))

    warehouses = _client(connector).get_warehouses()

    assert warehouses == [{"id": "1"}]
    assert len(pauses) == 1
    first, second = (_query(call.request) for call in responses.calls)
    assert first["sign"] == second["sign"]


@responses.activate
def test_retries_stop_after_attempts(connector, pauses):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses",
        json=_envelope(None, code=36009003, message="Internal error"),
    )

    with pytest.raises(errors.ServerError):
        TikTokClient(connector, clock=lambda: NOW, attempts=3).get_warehouses()

    assert len(responses.calls) == 3
    assert len(pauses) == 2


@responses.activate
def test_mark_shipped_not_retried(connector, pauses):
    _fresh(connector)
    responses.post(
        f"{API_URL}/fulfillment/202309/orders/576/packages",
        body=requests.ConnectionError("reset"),
    )

    with pytest.raises(errors.ConnectionFailedError):
        _client(connector).mark_package_shipped(
            "576", tracking_number="JX1", shipping_provider_id="66"
        )

    assert len(responses.calls) == 1
    assert pauses == []


@responses.activate
def test_http_502_html_is_server_error(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses", body="<html>bad</html>", status=502
    )

    with pytest.raises(errors.ServerError):
        _client(connector).get_warehouses()


@responses.activate
def test_connection_error_is_retryable(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/warehouses",
        body=requests.ConnectionError("refused"),
    )

    with pytest.raises(errors.ConnectionFailedError):
        _client(connector).get_warehouses()


@responses.activate
def test_get_orders_chunks_fifty_ids(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/order/202309/orders", json=_envelope({"orders": [{"id": "x"}]})
    )
    ids = [str(576461413038785000 + n) for n in range(51)]

    orders = _client(connector).get_orders(ids)

    assert len(responses.calls) == 2
    first = _query(responses.calls[0].request)["ids"].split(",")
    second = _query(responses.calls[1].request)["ids"].split(",")
    assert first == ids[:50]
    assert second == ids[50:]
    assert orders == [{"id": "x"}, {"id": "x"}]


@responses.activate
def test_exchange_code_is_unsigned_get(connector, sample):
    responses.get(f"{API_URL}/api/v2/token/get", json=sample("api_v2_token_get"))

    tokens = _client(connector).exchange_code("ROW_wGeMcode")

    query = _query(responses.calls[0].request)
    assert query == {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "auth_code": "ROW_wGeMcode",
        "grant_type": "authorized_code",
    }
    assert tokens.access_token == "TTP_Fw8rBwAAAAAkW03FYb9ttv2Dyms9sF1MU"
    assert tokens.access_token_expires_at == datetime.fromtimestamp(1660556783, tz=UTC)
    assert tokens.refresh_token_expires_at == datetime.fromtimestamp(1691487031, tz=UTC)
    assert tokens.seller_base_region == "US"


@responses.activate
def test_exchange_code_invalid_code(connector):
    responses.get(
        f"{API_URL}/api/v2/token/get",
        json=_envelope(None, code=36004004, message="invalid auth code"),
    )

    with pytest.raises(errors.InvalidAuthCodeError):
        _client(connector).exchange_code("ROW_used")


@responses.activate
def test_expired_token_refreshes_once_and_repeats(connector):
    _fresh(connector)
    url = f"{API_URL}/logistics/202309/warehouses"
    responses.get(
        url,
        json=_envelope(None, code=105002, message="Expired credentials."),
    )
    responses.get(url, json=_envelope({"warehouses": [{"id": "1"}]}))
    responses.get(f"{API_URL}/api/v2/token/refresh", json=_token_answer())

    warehouses = _client(connector).get_warehouses()

    assert warehouses == [{"id": "1"}]
    refresh_query = _query(responses.calls[1].request)
    assert refresh_query["grant_type"] == "refresh_token"
    assert refresh_query["refresh_token"] == "TTP_refresh_token_one"
    assert responses.calls[2].request.headers["x-tts-access-token"] == (
        "TTP_access_two"
    )
    connector.refresh_from_db()
    assert connector.tiktok_access_token == "TTP_access_two"
    assert connector.tiktok_refresh_token == "TTP_refresh_two"
    assert connector.tiktok_access_token_expires_at == datetime.fromtimestamp(
        NOW + 604800, tz=UTC
    )


@responses.activate
def test_expired_twice_raises_after_one_refresh(connector):
    _fresh(connector)
    url = f"{API_URL}/logistics/202309/warehouses"
    expired = _envelope(None, code=105002, message="Expired credentials.")
    responses.get(url, json=expired)
    responses.get(url, json=expired)
    responses.get(f"{API_URL}/api/v2/token/refresh", json=_token_answer())

    with pytest.raises(errors.ExpiredTokenError):
        _client(connector).get_warehouses()

    assert len(responses.calls) == 3


@responses.activate
def test_token_near_expiry_refreshed_first(connector):
    _fresh(connector)
    connector.tiktok_access_token_expires_at = datetime.fromtimestamp(
        NOW + 3600, tz=UTC
    )
    connector.save()
    responses.get(f"{API_URL}/api/v2/token/refresh", json=_token_answer())
    responses.get(
        f"{API_URL}/logistics/202309/warehouses", json=_envelope({"warehouses": []})
    )

    _client(connector).get_warehouses()

    assert urlsplit(responses.calls[0].request.url).path == "/api/v2/token/refresh"
    assert responses.calls[1].request.headers["x-tts-access-token"] == (
        "TTP_access_two"
    )


@responses.activate
def test_failed_refresh_needs_reauthorization(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/api/v2/token/refresh",
        json=_envelope(None, code=36004004, message="invalid refresh token"),
    )

    with pytest.raises(errors.RefreshFailedError):
        _client(connector).refresh_access_token()

    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_REAUTHORIZATION
    assert "invalid refresh token" in connector.status_detail
    assert connector.tiktok_access_token == "TTP_access_token_one"
    assert connector.tiktok_refresh_token == "TTP_refresh_token_one"


@responses.activate
def test_refresh_connection_error_keeps_status(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/api/v2/token/refresh", body=requests.ConnectionError("refused")
    )

    with pytest.raises(errors.ConnectionFailedError):
        _client(connector).refresh_access_token()

    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED
    assert connector.tiktok_refresh_token == "TTP_refresh_token_one"


@responses.activate
def test_refresh_lost_race_adopts_stored_tokens(connector):
    _fresh(connector)
    client = _client(connector)
    Connector.objects.filter(pk=connector.pk).update(status="connected")
    other = Connector.objects.get(pk=connector.pk)
    other.tiktok_access_token = "TTP_access_other"
    other.tiktok_refresh_token = "TTP_refresh_other"
    other.save()
    responses.get(
        f"{API_URL}/api/v2/token/refresh",
        json=_envelope(None, code=36004004, message="refresh token already used"),
    )

    result = client.refresh_access_token()

    assert result is None
    assert client.connector.tiktok_access_token == "TTP_access_other"
    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED


def test_expired_refresh_token_needs_reauthorization_without_call(connector):
    connector.tiktok_refresh_token_expires_at = timezone.now() - timedelta(days=1)
    connector.save()

    with responses.RequestsMock() as mock, pytest.raises(errors.RefreshFailedError):
        TikTokClient(connector).refresh_access_token()

    assert len(mock.calls) == 0
    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_REAUTHORIZATION


def test_missing_access_token_is_authentication_error(connector):
    connector.tiktok_access_token = ""
    connector.save()

    with pytest.raises(errors.TikTokAuthenticationError):
        _client(connector).get_warehouses()


def test_missing_shop_cipher_raises_before_sending(connector):
    _fresh(connector)
    connector.tiktok_shop_cipher = ""
    connector.save()

    with responses.RequestsMock() as mock, pytest.raises(errors.ShopCipherError):
        _client(connector).get_warehouses()

    assert len(mock.calls) == 0


@responses.activate
def test_update_inventory_partial_failure(connector, sample):
    _fresh(connector)
    responses.post(
        f"{API_URL}/product/202309/products/1729592969712207008/inventory/update",
        json=sample("product_202309_inventory_update"),
    )
    quantities = {
        "1729592969712207013": {"7068517275539719942": 5},
        "1729592969712207012": {"7068517275539719942": 0},
    }

    results = _client(connector).update_inventory("1729592969712207008", quantities)

    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "skus": [
            {
                "id": "1729592969712207013",
                "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 5}],
            },
            {
                "id": "1729592969712207012",
                "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 0}],
            },
        ]
    }
    assert results == [
        StockItemResult(
            identifier="1729592969712207013@7068517275539719942",
            accepted=False,
            error_code="12052097",
            error_detail="The warehouse does not exist",
        ),
        StockItemResult(
            identifier="1729592969712207012@7068517275539719942", accepted=True
        ),
    ]


@responses.activate
def test_mark_package_shipped_body(connector):
    _fresh(connector)
    responses.post(
        f"{API_URL}/fulfillment/202309/orders/576461413038785752/packages",
        json=_envelope({"order_id": "576461413038785752", "package_id": "115"}),
    )

    data = _client(connector).mark_package_shipped(
        "576461413038785752",
        tracking_number="JX12345",
        shipping_provider_id="6617675021119438849",
        order_line_item_ids=["577086512123755123"],
    )

    assert json.loads(responses.calls[0].request.body) == {
        "tracking_number": "JX12345",
        "shipping_provider_id": "6617675021119438849",
        "order_line_item_ids": ["577086512123755123"],
    }
    assert data["package_id"] == "115"


@responses.activate
def test_shipping_providers_and_returns(connector):
    _fresh(connector)
    responses.get(
        f"{API_URL}/logistics/202309/delivery_options/709/shipping_providers",
        json=_envelope({"shipping_providers": [{"id": "66", "name": "Royal Mail"}]}),
    )
    responses.post(
        f"{API_URL}/return_refund/202309/returns/search",
        json=_envelope({"return_orders": [{"return_id": "4"}], "next_page_token": ""}),
    )
    client = _client(connector)

    providers = client.get_shipping_providers("709")
    page = client.search_returns({"update_time_ge": 1})

    assert providers == [{"id": "66", "name": "Royal Mail"}]
    assert page.items == [{"return_id": "4"}]
    assert page.is_last is True
    assert _query(responses.calls[1].request)["page_size"] == "50"


@responses.activate
def test_secrets_never_logged(connector, caplog):
    _fresh(connector)
    responses.get(
        f"{API_URL}/api/v2/token/refresh",
        body=requests.ConnectionError(
            f"{API_URL}/api/v2/token/refresh?app_secret={APP_SECRET}"
            "&refresh_token=TTP_refresh_token_one"
        ),
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(errors.ConnectionFailedError) as caught:
        _client(connector).refresh_access_token()

    assert APP_SECRET not in str(caught.value)
    assert "TTP_refresh_token_one" not in str(caught.value)
    assert APP_SECRET not in caplog.text
    assert "TTP_refresh_token_one" not in caplog.text
