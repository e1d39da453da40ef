import json
from datetime import UTC, datetime

import pytest
import requests
import responses

from connectors.errors import RetryableError
from connectors.models import Connector
from connectors.thg import errors
from connectors.thg.client import THGClient, token_cache

AUTH = "https://auth.thg.test"
API = "https://api.thg.test"
TOKEN_URL = f"{AUTH}/realms/acme/protocol/openid-connect/token"


@pytest.fixture(autouse=True)
def empty_token_cache():
    token_cache.clear()
    yield
    token_cache.clear()


@pytest.fixture
def connector():
    # Not saved: the client needs only the fields.
    return Connector(
        pk=7,
        kind=Connector.Kind.THG,
        name="THG test",
        thg_realm="acme",
        thg_client_id="hub-client",
        thg_client_secret="s3cret-value-123",
        auth_url=AUTH,
        api_url=API,
    )


def token_body(token="tok-1", expires_in=300):
    return {
        "access_token": token,
        "expires_in": expires_in,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    }


def no_sleep(client):
    client.attempts = 3
    return client


@responses.activate
def test_token_request_is_client_credentials(connector):
    responses.post(TOKEN_URL, json=token_body())

    token = THGClient(connector).fetch_token()

    assert token == "tok-1"
    sent = responses.calls[0].request.body
    assert "grant_type=client_credentials" in sent
    assert "client_id=hub-client" in sent
    assert "client_secret=s3cret-value-123" in sent


@responses.activate
def test_token_is_cached_between_calls(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.get(f"{API}/v1/warehouses", json={"data": [], "meta": {"next": None}})

    client = THGClient(connector)
    client.list_warehouses()
    client.list_warehouses()

    token_calls = [c for c in responses.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 1


@responses.activate
def test_unknown_realm_raises_realm_not_found(connector):
    responses.post(TOKEN_URL, status=404, json={"error": "Realm does not exist"})

    with pytest.raises(errors.RealmNotFound) as error:
        THGClient(connector).fetch_token()

    assert "'acme' does not exist" in str(error.value)


@responses.activate
def test_wrong_secret_raises_invalid_client(connector):
    responses.post(
        TOKEN_URL,
        status=401,
        json={
            "error": "invalid_client",
            "error_description": "Invalid client or Invalid client credentials",
        },
    )

    with pytest.raises(errors.InvalidClient) as error:
        THGClient(connector).fetch_token()

    assert "'hub-client'" in str(error.value)
    assert "s3cret-value-123" not in str(error.value)


@responses.activate
def test_inactive_connection_raises_not_active(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.get(
        f"{API}/v1/warehouses",
        status=403,
        json={
            "errors": [
                {
                    "status": "403",
                    "code": "ConnectionNotActive",
                    "title": "Connection not active",
                    "detail": "THG has not activated this connection",
                }
            ]
        },
    )

    with pytest.raises(errors.ConnectionNotActive) as error:
        THGClient(connector).list_warehouses()

    assert "THG support" in str(error.value)


@responses.activate
def test_401_fetches_one_new_token_and_retries(connector):
    responses.post(TOKEN_URL, json=token_body("tok-old"))
    responses.post(TOKEN_URL, json=token_body("tok-new"))
    responses.get(
        f"{API}/v1/orders/1",
        status=401,
        json={"errors": [{"status": "401", "code": "UnauthorizedException"}]},
    )
    responses.get(f"{API}/v1/orders/1", json={"id": "1"})

    order = THGClient(connector).get_order("1")

    assert order == {"id": "1"}
    auth_headers = [
        c.request.headers["Authorization"]
        for c in responses.calls
        if "/v1/" in c.request.url
    ]
    assert auth_headers == ["Bearer tok-old", "Bearer tok-new"]


@responses.activate
def test_429_is_retried_honouring_retry_after(connector, monkeypatch):
    slept = []
    monkeypatch.setattr("connectors.retry.time.sleep", slept.append)
    responses.post(TOKEN_URL, json=token_body())
    responses.get(
        f"{API}/v1/orders/1",
        status=429,
        headers={"Retry-After": "2"},
        json={"errors": [{"status": "429", "code": "TooManyRequests"}]},
    )
    responses.get(f"{API}/v1/orders/1", json={"id": "1"})

    client = THGClient(connector)
    order = client.get_order("1")

    assert order == {"id": "1"}
    assert slept == [2.0]
    assert client.retries == 1


@responses.activate
def test_server_errors_raise_after_bounded_attempts(connector, monkeypatch):
    monkeypatch.setattr("connectors.retry.time.sleep", lambda seconds: None)
    responses.post(TOKEN_URL, json=token_body())
    responses.get(
        f"{API}/v1/orders/1",
        status=500,
        json={"errors": [{"status": "500", "code": "InternalError"}]},
    )

    client = THGClient(connector, attempts=3)
    with pytest.raises(RetryableError):
        client.get_order("1")

    data_calls = [c for c in responses.calls if "/v1/" in c.request.url]
    assert len(data_calls) == 3


@responses.activate
def test_truncated_body_is_retryable(connector, monkeypatch):
    monkeypatch.setattr("connectors.retry.time.sleep", lambda seconds: None)
    responses.post(TOKEN_URL, json=token_body())
    responses.get(f"{API}/v1/orders/1", body='{"id": "1", "sta')

    with pytest.raises(RetryableError) as error:
        THGClient(connector, attempts=2).get_order("1")

    assert "not valid JSON" in str(error.value)


@responses.activate
def test_timeout_is_retryable(connector, monkeypatch):
    monkeypatch.setattr("connectors.retry.time.sleep", lambda seconds: None)
    responses.post(TOKEN_URL, json=token_body())
    responses.get(f"{API}/v1/orders/1", body=requests.ReadTimeout("slow"))

    with pytest.raises(RetryableError) as error:
        THGClient(connector, attempts=2).get_order("1")

    assert "timed out" in str(error.value)


@responses.activate
def test_orders_page_sends_window_and_cursor(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.get(
        f"{API}/v1/orders",
        json={"data": [{"id": "1"}], "meta": {"next": "abc=="}},
    )

    page = THGClient(connector).orders_page(
        updated_from=datetime(2026, 11, 30, 10, 0, tzinfo=UTC), after="xyz"
    )

    assert page.items == [{"id": "1"}]
    assert page.next_cursor == "abc=="
    params = responses.calls[-1].request.params
    assert params == {
        "updated_from": "2026-11-30T10:00:00Z",
        "limit": "100",
        "after": "xyz",
    }


@responses.activate
def test_history_limit_names_the_six_months(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.get(
        f"{API}/v1/orders",
        status=400,
        json={
            "errors": [
                {
                    "status": "400",
                    "code": "HistoryLimitExceeded",
                    "detail": "updated_from is more than 183 days ago",
                    "source": {"pointer": "/updated_from"},
                }
            ]
        },
    )

    with pytest.raises(errors.HistoryLimitExceeded) as error:
        THGClient(connector).orders_page(updated_from=datetime(2025, 1, 1, tzinfo=UTC))

    assert "6 months" in str(error.value)


@responses.activate
def test_dispatch_conflict_raises_conflict(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.post(
        f"{API}/v1/orders/1/dispatches",
        status=409,
        json={
            "errors": [
                {
                    "status": "409",
                    "code": "ConflictException",
                    "detail": "dispatch_reference F1 was used with other content",
                }
            ]
        },
    )

    with pytest.raises(errors.Conflict) as error:
        THGClient(connector).create_dispatch("1", {"dispatch_reference": "F1"})

    assert error.value.detail == "dispatch_reference F1 was used with other content"


@responses.activate
def test_stock_batch_over_limit_is_refused_before_sending(connector):
    with pytest.raises(ValueError, match="at most 500"):
        THGClient(connector).put_stock([{"upc": "1", "quantity": 1}] * 501)

    assert len(responses.calls) == 0


@responses.activate
def test_stock_sends_items_and_returns_results(connector):
    responses.post(TOKEN_URL, json=token_body())
    responses.put(
        f"{API}/v1/stock",
        json={"results": [{"upc": "5012345678900", "status": "ACCEPTED"}]},
    )

    results = THGClient(connector).put_stock([{"upc": "5012345678900", "quantity": 7}])

    assert results == [{"upc": "5012345678900", "status": "ACCEPTED"}]
    assert json.loads(responses.calls[-1].request.body) == {
        "items": [{"upc": "5012345678900", "quantity": 7}]
    }
