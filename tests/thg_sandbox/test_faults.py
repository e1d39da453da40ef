import json
import time

import pytest

from connectors.thg.sandbox import faults, services
from connectors.thg.sandbox.models import SandboxDispatch

from .conftest import TOKEN_PATH, APIClient, error_of, fetch_token

NO_FAULTS = {
    "too_many_requests_retry_after": 0,
    "too_many_requests": 0,
    "internal_error": 0,
    "slow_response": 0,
    "truncated_body": 0,
    "token_expired": 0,
    "rate_limited": 0,
}


@pytest.fixture
def sleeps(monkeypatch):
    calls = []
    monkeypatch.setattr(faults.time, "sleep", calls.append)
    return calls


def _outcome(response) -> str:
    if response.status_code != 200:
        retry_after = response.headers.get("Retry-After")
        return f"{response.status_code} retry-after={retry_after}"
    try:
        json.loads(response.content)
    except json.JSONDecodeError:
        return "200 truncated"
    return "200"


def test_faults_seeded_exact_counts(client, account, sleeps):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=0.2, seed=7, slow_seconds=0.5)

    outcomes = [_outcome(api.get("/warehouses")) for _ in range(100)]

    assert outcomes.count("429 retry-after=1") == 4
    assert outcomes.count("429 retry-after=None") == 2
    assert outcomes.count("500 retry-after=None") == 4
    assert outcomes.count("200 truncated") == 4
    assert outcomes.count("200") == 86
    assert sleeps == [0.5, 0.5, 0.5]
    assert services.fault_counts(account) == {
        **NO_FAULTS,
        "too_many_requests_retry_after": 4,
        "too_many_requests": 2,
        "internal_error": 4,
        "slow_response": 3,
        "truncated_body": 4,
    }
    account.refresh_from_db()
    assert account.request_count == 100


def test_faults_same_seed_same_sequence(client, account, sleeps):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=0.3, seed=42, slow_seconds=0.1)
    first = [_outcome(api.get("/warehouses")) for _ in range(30)]

    services.configure_faults(account, rate=0.3, seed=42, slow_seconds=0.1)
    second = [_outcome(api.get("/warehouses")) for _ in range(30)]

    assert first == second
    assert first.count("200") < 30


def test_faults_first_call_numbers(client, account, sleeps):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=0.2, seed=7)

    outcomes = [_outcome(api.get("/warehouses")) for _ in range(20)]

    faulty = {n + 1: outcome for n, outcome in enumerate(outcomes) if outcome != "200"}
    assert faulty == {
        7: "429 retry-after=1",
        16: "500 retry-after=None",
        19: "200 truncated",
    }


def test_faults_off_by_default(client, account):
    api = APIClient(client, fetch_token(client))

    statuses = {api.get("/warehouses").status_code for _ in range(30)}

    assert statuses == {200}
    assert services.fault_counts(account) == NO_FAULTS
    account.refresh_from_db()
    assert account.request_count == 0


def test_faults_skip_token_call_by_default(client, account):
    services.configure_faults(account, rate=1.0, kinds=["internal_error"])

    token = fetch_token(client)
    response = APIClient(client, token).get("/warehouses")

    assert response.status_code == 500
    assert services.fault_counts(account)["internal_error"] == 1


def test_faults_on_token_call_when_configured(client, account):
    services.configure_faults(
        account, rate=1.0, kinds=["internal_error"], token_endpoint=True
    )

    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": "hub-client",
            "client_secret": "s3cret-client-value",
        },
    )

    assert response.status_code == 500
    assert error_of(response)["code"] == "InternalError"
    assert account.tokens.count() == 0


def test_fault_retry_after_429(client, account):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(
        account, rate=1.0, kinds=["too_many_requests_retry_after"]
    )

    response = api.get("/warehouses")

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert error_of(response)["code"] == "TooManyRequests"
    assert error_of(response)["status"] == "429"


def test_fault_429_without_retry_after(client, account):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=1.0, kinds=["too_many_requests"])

    response = api.get("/warehouses")

    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert error_of(response)["code"] == "TooManyRequests"


def test_fault_500_has_no_side_effect(client, account):
    [order] = services.generate_orders(account, 1, seed=1)
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=1.0, kinds=["internal_error"])

    response = api.post(f"/orders/{order.order_id}/acknowledgement")

    assert response.status_code == 500
    assert error_of(response)["code"] == "InternalError"
    order.refresh_from_db()
    assert order.status == "NEW"


def test_fault_truncated_body_is_half(client, account):
    api = APIClient(client, fetch_token(client))
    full = api.get("/warehouses").content
    services.configure_faults(account, rate=1.0, kinds=["truncated_body"])

    response = api.get("/warehouses")

    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_fault_truncated_dispatch_still_recorded(client, account):
    [order] = services.generate_orders(account, 1, seed=1)
    line = order.payload["lines"][0]
    body = {
        "dispatch_reference": "FUL-9",
        "warehouse_id": "WH-LEEDS-01",
        "carrier": "DPD",
        "lines": [{"line_id": line["id"], "quantity": line["quantity"]}],
    }
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=1.0, kinds=["truncated_body"])
    truncated = api.post(f"/orders/{order.order_id}/dispatches", body)

    services.configure_faults(account)
    retried = api.post(f"/orders/{order.order_id}/dispatches", body)

    assert truncated.status_code == 200
    assert retried.status_code == 200
    assert retried.json() == SandboxDispatch.objects.get().response


def test_fault_slow_response_sleeps(client, account):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(
        account, rate=1.0, kinds=["slow_response"], slow_seconds=0.2
    )

    started = time.monotonic()
    response = api.get("/warehouses")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.2
    assert services.fault_counts(account)["slow_response"] == 1


def test_token_expires_every_n_calls(client, account):
    services.configure_faults(account, token_lifetime_calls=3)
    api = APIClient(client, fetch_token(client))

    statuses = [api.get("/warehouses").status_code for _ in range(4)]
    after_expiry = api.get("/warehouses")
    api.token = fetch_token(client)
    renewed = api.get("/warehouses")

    assert statuses == [200, 200, 200, 401]
    assert after_expiry.status_code == 401
    assert "expired" in error_of(after_expiry)["detail"]
    assert renewed.status_code == 200
    assert services.fault_counts(account)["token_expired"] == 1


def test_rate_limit_per_second(client, account, monkeypatch):
    clock = [1_800_000_000.2]
    monkeypatch.setattr(faults.time, "time", lambda: clock[0])
    services.configure_faults(account, rate_limit_per_second=2)
    api = APIClient(client, fetch_token(client))

    within = [api.get("/warehouses").status_code for _ in range(2)]
    over = api.get("/warehouses")
    clock[0] += 1.0
    next_second = api.get("/warehouses")

    assert within == [200, 200]
    assert over.status_code == 429
    assert over["Retry-After"] == "1"
    assert error_of(over)["code"] == "TooManyRequests"
    assert next_second.status_code == 200
    assert services.fault_counts(account)["rate_limited"] == 1


def test_rate_limit_off_by_default(client, account):
    api = APIClient(client, fetch_token(client))

    statuses = {api.get("/warehouses").status_code for _ in range(25)}

    assert statuses == {200}


def test_configure_faults_resets_counts(client, account):
    api = APIClient(client, fetch_token(client))
    services.configure_faults(account, rate=1.0, kinds=["internal_error"])
    api.get("/warehouses")

    services.configure_faults(account, rate=0.5, seed=1)

    assert services.fault_counts(account) == NO_FAULTS
    account.refresh_from_db()
    assert account.request_count == 0


def test_configure_faults_unknown_kind_raises(account):
    with pytest.raises(ValueError, match="Unknown fault kinds"):
        services.configure_faults(account, rate=0.5, kinds=["lost_packet"])

    account.refresh_from_db()
    assert account.fault_rate == 0.0


def test_configure_faults_rate_out_of_range_raises(account):
    with pytest.raises(ValueError, match="out of range"):
        services.configure_faults(account, rate=1.5)

    account.refresh_from_db()
    assert account.fault_rate == 0.0
