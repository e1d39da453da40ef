import datetime as dt

from django.utils import timezone

from connectors.thg.sandbox import services
from connectors.thg.sandbox.models import SandboxOrder, SandboxToken

from .conftest import API, APIClient, error_of, fetch_token


def test_missing_bearer_401(client, account):
    response = client.get(f"{API}/warehouses")

    assert response.status_code == 401
    error = error_of(response)
    assert error["status"] == "401"
    assert error["code"] == "UnauthorizedException"
    assert error["title"] == "Unauthorized"
    assert "Authorization" in error["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="thg"'


def test_unknown_bearer_401(client, account):
    response = client.get(
        f"{API}/warehouses", headers={"Authorization": "Bearer not-a-token"}
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "UnauthorizedException"
    assert response["WWW-Authenticate"].startswith(
        'Bearer realm="thg", error="invalid_token"'
    )


def test_expired_bearer_401(client, account):
    token = fetch_token(client)
    SandboxToken.objects.filter(value=token).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    response = APIClient(client, token).get("/warehouses")

    assert response.status_code == 401
    assert error_of(response)["code"] == "UnauthorizedException"
    assert "expired" in error_of(response)["detail"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_basic_auth_on_data_call_401(client, account):
    response = client.get(f"{API}/warehouses", headers={"Authorization": "Basic eDp5"})

    assert response.status_code == 401
    assert error_of(response)["code"] == "UnauthorizedException"


def test_inactive_connection_403(client, account):
    services.deactivate(account)
    api = APIClient(client, fetch_token(client))

    response = api.get("/warehouses")

    assert response.status_code == 403
    error = error_of(response)
    assert error["status"] == "403"
    assert error["code"] == "ConnectionNotActive"
    assert "THG support" in error["detail"]


def test_inactive_connection_rejects_writes(client, account):
    [order] = services.generate_orders(account, 1, seed=1)
    services.deactivate(account)
    api = APIClient(client, fetch_token(client))

    response = api.post(f"/orders/{order.order_id}/acknowledgement")

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "NEW"
    assert order.acknowledged_at is None


def test_activation_flips_403_to_200(client, account):
    services.deactivate(account)
    api = APIClient(client, fetch_token(client))
    assert api.get("/warehouses").status_code == 403

    services.activate(account)
    response = api.get("/warehouses")

    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {"id": "WH-BRISTOL-02", "name": "Bristol"},
            {"id": "WH-LEEDS-01", "name": "Leeds"},
        ],
        "meta": {"next": None},
    }


def test_unknown_path_404(api):
    response = api.get("/products")

    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFoundException"


def test_unknown_path_needs_token(client, account):
    response = client.get(f"{API}/products")

    assert response.status_code == 401


def test_wrong_method_405(api):
    response = api.post("/warehouses")

    assert response.status_code == 405
    assert error_of(response)["code"] == "MethodNotAllowed"
    assert response["Allow"] == "GET"


def test_order_of_other_account_404(client, account):
    other = services.ensure_account("junction-test", "other-client", "other-secret")
    services.add_listings(other, [("5012345678900", "Blue mug")])
    services.activate(other)
    [foreign] = services.generate_orders(other, 1, seed=3)
    token = client.post(
        "/sandbox/thg/realms/junction-test/protocol/openid-connect/token",
        {
            "grant_type": "client_credentials",
            "client_id": "hub-client",
            "client_secret": "s3cret-client-value",
        },
    ).json()["access_token"]

    response = APIClient(client, token).get(f"/orders/{foreign.order_id}")

    assert response.status_code == 404
    assert SandboxOrder.objects.count() == 1
