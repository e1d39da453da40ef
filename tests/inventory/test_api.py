import json

import pytest
from django.urls import get_resolver

from connectors.models import OutboxMessage
from inventory.models import StockMovement, WarehouseIntegration
from orders import routing
from orders.models import Fulfillment, Order

from .factories import (
    level,
    link,
    make_connector,
    make_location,
    make_order,
    make_product,
    put_stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.inventory.urls")]

BASE = "/api/warehouse/"


@pytest.fixture
def setup():
    location = make_location("wh1")
    other = make_location("wh2")
    integration = WarehouseIntegration(name="ShipFast")
    token = integration.issue_token()
    integration.save()
    integration.locations.add(location)
    return {"location": location, "other": other, "token": token}


def _post(client, path, body, token):
    return client.post(
        BASE + path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_token_stored_hashed(setup):
    integration = WarehouseIntegration.objects.get()

    assert integration.token_hash != setup["token"]
    assert len(integration.token_hash) == 64
    assert setup["token"].startswith(integration.token_prefix)


def test_missing_token_unauthorized(client, setup):
    response = client.post(
        BASE + "stock-snapshots", data="{}", content_type="application/json"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="warehouse"'
    assert response.json()["error"]["code"] == "unauthorized"


def test_wrong_token_unauthorized(client, setup):
    response = _post(client, "stock-snapshots", {}, "jwh_wrong")

    assert response.status_code == 401


def test_inactive_integration_unauthorized(client, setup):
    WarehouseIntegration.objects.update(active=False)

    response = _post(client, "stock-snapshots", {}, setup["token"])

    assert response.status_code == 401


def test_oversized_body_rejected_before_auth(client, setup):
    response = client.post(
        BASE + "stock-snapshots",
        data=b"x",
        content_type="application/json",
        CONTENT_LENGTH=str(2 * 1024 * 1024),
    )

    assert response.status_code == 413


def test_invalid_json_rejected(client, setup):
    response = client.post(
        BASE + "stock-snapshots",
        data=b"{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {setup['token']}"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_wrong_method_rejected(client, setup):
    response = client.get(
        BASE + "stock-snapshots", headers={"Authorization": f"Bearer {setup['token']}"}
    )

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_snapshot_sets_on_hand(client, setup):
    product = make_product("SNAP-1")
    put_stock(product, setup["location"], 2)

    response = _post(
        client,
        "stock-snapshots",
        {
            "location": "wh1",
            "reference": "count 7",
            "items": [{"sku": "SNAP-1", "on_hand": 9}],
        },
        setup["token"],
    )

    assert response.status_code == 200
    assert response.json() == {"location": "wh1", "changed": 1, "unchanged": 0}
    assert level(product, setup["location"]).on_hand == 9
    movement = StockMovement.objects.get()
    assert movement.reason == StockMovement.Reason.SNAPSHOT
    assert movement.reference == "ShipFast: count 7"


def test_snapshot_invalid_items_write_nothing(client, setup):
    product = make_product("SNAP-2")

    response = _post(
        client,
        "stock-snapshots",
        {
            "location": "wh1",
            "items": [
                {"sku": "SNAP-2", "on_hand": 3},
                {"sku": "MISSING", "on_hand": 1},
                {"sku": "SNAP-2", "on_hand": -1},
            ],
        },
        setup["token"],
    )

    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [detail["index"] for detail in details] == [1, 2]
    assert not product.stock_levels.exists()


def test_snapshot_below_committed_conflict(client, setup):
    product = make_product("SNAP-3")
    put_stock(product, setup["location"], 5, committed=4)

    response = _post(
        client,
        "stock-snapshots",
        {"location": "wh1", "items": [{"sku": "SNAP-3", "on_hand": 1}]},
        setup["token"],
    )

    assert response.status_code == 409
    assert level(product, setup["location"]).on_hand == 5


def test_snapshot_unlinked_location_forbidden(client, setup):
    product = make_product("SNAP-4")

    response = _post(
        client,
        "stock-snapshots",
        {"location": "wh2", "items": [{"sku": "SNAP-4", "on_hand": 1}]},
        setup["token"],
    )

    assert response.status_code == 403
    assert not product.stock_levels.exists()


def test_snapshot_unknown_location_not_found(client, setup):
    response = _post(
        client,
        "stock-snapshots",
        {"location": "nowhere", "items": [{"sku": "X", "on_hand": 1}]},
        setup["token"],
    )

    assert response.status_code == 404


def _routed_order(location, quantity=2, **fields):
    connector = make_connector()
    link(location, connector)
    product = make_product()
    put_stock(product, location, 10)
    order = make_order(connector, [(product, quantity)], ship_city="Leeds", **fields)
    routing.route_order(order)
    return order


def test_shipments_lists_open_work(client, setup):
    order = _routed_order(setup["location"], reference="R-100")
    _routed_order(setup["other"])

    response = client.get(
        BASE + "shipments?location=wh1",
        headers={"Authorization": f"Bearer {setup['token']}"},
    )

    assert response.status_code == 200
    body = response.json()
    assert [entry["order_id"] for entry in body["orders"]] == [order.pk]
    entry = body["orders"][0]
    assert entry["reference"] == "R-100"
    assert entry["ship_to"]["city"] == "Leeds"
    assert entry["lines"] == [
        {
            "line_id": order.lines.get().pk,
            "sku": order.lines.get().product.sku,
            "title": "",
            "quantity": 2,
        }
    ]
    assert body["next_after"] is None


def test_shipments_pages(client, setup):
    orders = [_routed_order(setup["location"]) for _ in range(3)]
    headers = {"Authorization": f"Bearer {setup['token']}"}

    first = client.get(BASE + "shipments?location=wh1&limit=2", headers=headers).json()
    after = first["next_after"]
    second = client.get(
        BASE + f"shipments?location=wh1&limit=2&after={after}", headers=headers
    ).json()

    assert [entry["order_id"] for entry in first["orders"]] == [
        o.pk for o in orders[:2]
    ]
    assert [entry["order_id"] for entry in second["orders"]] == [orders[2].pk]
    assert second["next_after"] is None


def test_fulfillment_recorded(client, setup):
    order = _routed_order(setup["location"])
    line = order.lines.get()

    response = _post(
        client,
        "fulfillments",
        {
            "order_id": order.pk,
            "location": "wh1",
            "carrier": "DPD",
            "tracking_number": "TRK1",
            "shipped_at": "2025-01-31T14:00:00Z",
            "lines": [{"line_id": line.pk, "quantity": 2}],
        },
        setup["token"],
    )

    assert response.status_code == 201
    body = response.json()
    assert body["order_status"] == Order.Status.FULFILLED
    fulfillment = Fulfillment.objects.get()
    assert body["fulfillment_id"] == fulfillment.pk
    assert level(line.product, setup["location"]).on_hand == 8
    assert level(line.product, setup["location"]).committed == 0
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.DISPATCH).count() == 1


def test_fulfillment_repeat_returns_first(client, setup):
    order = _routed_order(setup["location"])
    line = order.lines.get()
    body = {
        "order_id": order.pk,
        "location": "wh1",
        "carrier": "DPD",
        "tracking_number": "TRK2",
        "lines": [{"line_id": line.pk, "quantity": 1}],
    }
    first = _post(client, "fulfillments", body, setup["token"])

    again = _post(client, "fulfillments", body, setup["token"])

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["fulfillment_id"] == first.json()["fulfillment_id"]
    assert Fulfillment.objects.count() == 1
    assert level(line.product, setup["location"]).on_hand == 9


def test_fulfillment_above_open_rejected(client, setup):
    order = _routed_order(setup["location"])
    line = order.lines.get()

    response = _post(
        client,
        "fulfillments",
        {
            "order_id": order.pk,
            "location": "wh1",
            "carrier": "DPD",
            "tracking_number": "TRK3",
            "lines": [{"line_id": line.pk, "quantity": 3}],
        },
        setup["token"],
    )

    assert response.status_code == 409
    assert Fulfillment.objects.count() == 0
    assert level(line.product, setup["location"]).on_hand == 10


def test_fulfillment_invalid_fields(client, setup):
    response = _post(
        client,
        "fulfillments",
        {"order_id": "x", "location": "wh1", "lines": [], "shipped_at": "yesterday"},
        setup["token"],
    )

    assert response.status_code == 422
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert fields == ["order_id", "carrier", "tracking_number", "shipped_at", "lines"]


def test_fulfillment_other_location_order_not_found(client, setup):
    order = _routed_order(setup["other"])

    response = _post(
        client,
        "fulfillments",
        {
            "order_id": order.pk,
            "location": "wh1",
            "carrier": "DPD",
            "tracking_number": "TRK4",
            "lines": [{"line_id": order.lines.get().pk, "quantity": 1}],
        },
        setup["token"],
    )

    assert response.status_code == 404
    assert Fulfillment.objects.count() == 0


def test_openapi_schema_lists_every_route(client):
    response = client.get(BASE + "openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"] == "3.1.0"
    resolver = get_resolver("inventory.api_urls")
    routes = {"/" + str(pattern.pattern) for pattern in resolver.url_patterns}
    assert routes == set(schema["paths"])
