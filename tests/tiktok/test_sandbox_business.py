"""The sandbox's endpoints behind the checks: OAuth, tokens, orders,
inventory, fulfilment, returns, webhooks and the generator."""

import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.tiktok import mapping
from connectors.tiktok.sandbox import api
from connectors.tiktok.sandbox.models import (
    SandboxAuthCode,
    SandboxInventory,
    SandboxOrder,
    SandboxToken,
)
from connectors.tiktok.signing import verify_webhook

from .sandbox_helpers import APP_KEY, APP_SECRET, SERVICE_ID, call, make_world

SEARCH = "/order/202309/orders/search"


@pytest.fixture
def world(db):
    return make_world()


def _token_get(client, **params):
    query = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "grant_type": "authorized_code",
        **params,
    }
    response = client.get("/sandbox/tiktok/api/v2/token/get", query)
    return response.status_code, response.json()


# OAuth and tokens ---------------------------------------------------------


def test_authorize_redirects_with_code_and_state(client, world):
    response = client.get(
        "/sandbox/tiktok/oauth/authorize", {"service_id": SERVICE_ID, "state": "abc"}
    )

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert location.path == "/integrations/tiktok/callback"
    assert params["state"] == "abc"
    assert params["shop_region"] == "GB"
    assert params["app_key"] == APP_KEY
    code = SandboxAuthCode.objects.get(code=params["code"])
    assert code.shops.count() == 3
    assert code.expires_at - int(time.time()) in range(1795, 1801)


def test_authorize_unknown_service_id(client, world):
    response = client.get("/sandbox/tiktok/oauth/authorize", {"service_id": "nope"})

    assert response.status_code == 400
    assert SandboxAuthCode.objects.count() == 0


def test_token_get_issues_seven_day_token(client, world):
    code = api.create_auth_code(APP_KEY)

    status, answer = _token_get(client, auth_code=code.code)

    data = answer["data"]
    assert status == 200
    assert answer["code"] == 0
    assert answer["message"] == "success"
    assert data["access_token_expire_in"] - int(time.time()) in range(604795, 604801)
    assert data["refresh_token"].startswith("TTP_")
    token = SandboxToken.objects.get(access_token=data["access_token"])
    assert token.shops.count() == 3


def test_token_get_code_single_use(client, world):
    code = api.create_auth_code(APP_KEY)
    _token_get(client, auth_code=code.code)

    status, answer = _token_get(client, auth_code=code.code)

    assert status == 200
    assert answer["code"] == 36004004
    assert SandboxToken.objects.filter(app__app_key=APP_KEY).count() == 2


def test_token_get_expired_code(client, world):
    code = api.create_auth_code(APP_KEY, now=int(time.time()) - 1801)

    status, answer = _token_get(client, auth_code=code.code)

    assert answer["code"] == 36004004
    code.refresh_from_db()
    assert code.used_at is None


def test_token_get_wrong_secret(client, world):
    code = api.create_auth_code(APP_KEY)

    status, answer = _token_get(client, auth_code=code.code, app_secret="wrong")

    assert answer["code"] == 36009004
    code.refresh_from_db()
    assert code.used_at is None


def test_token_get_wrong_grant_type(client, world):
    code = api.create_auth_code(APP_KEY)

    status, answer = _token_get(
        client, auth_code=code.code, grant_type="authorization_code"
    )

    assert answer["code"] == 36009004
    assert "authorized_code" in answer["message"]


def test_token_refresh_rotates(client, world):
    _, _, token = world
    query = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "refresh_token": token.refresh_token,
        "grant_type": "refresh_token",
    }

    first = client.get("/sandbox/tiktok/api/v2/token/refresh", query).json()
    again = client.get("/sandbox/tiktok/api/v2/token/refresh", query).json()

    assert first["code"] == 0
    assert first["data"]["refresh_token"] != token.refresh_token
    assert first["data"]["access_token"] != token.access_token
    assert again["code"] == 36004004
    new = SandboxToken.objects.get(refresh_token=first["data"]["refresh_token"])
    assert new.shops.count() == 3


# Orders -------------------------------------------------------------------


def test_order_search_pages_with_plus_and_slash_tokens(client, world):
    _, shops, token = world
    api.generate_orders(shops[0], 25, seed=3)
    seen = []
    page_token = ""
    tokens = []

    for _ in range(5):
        query = {"page_size": 10, "sort_field": "update_time", "sort_order": "ASC"}
        if page_token:
            query["page_token"] = page_token
        status, answer = call(
            client,
            "POST",
            SEARCH,
            token=token,
            cipher=shops[0].cipher,
            query=query,
            body={"update_time_ge": 0},
        )
        assert answer["code"] == 0
        seen.extend(order["id"] for order in answer["data"]["orders"])
        page_token = answer["data"]["next_page_token"]
        if not page_token:
            break
        tokens.append(page_token)

    assert len(seen) == 25
    assert len(set(seen)) == 25
    assert len(tokens) == 2
    assert all("+" in t and "/" in t for t in tokens)
    times = [SandboxOrder.objects.get(order_id=i).update_time for i in seen]
    assert times == sorted(times)
    assert answer["data"]["total_count"] == 25


def test_order_search_token_tied_to_filters(client, world):
    _, shops, token = world
    api.generate_orders(shops[0], 5, seed=1)
    first = call(
        client,
        "POST",
        SEARCH,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 2},
        body={"update_time_ge": 0},
    )[1]

    status, answer = call(
        client,
        "POST",
        SEARCH,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 2, "page_token": first["data"]["next_page_token"]},
        body={"update_time_ge": 1},
    )

    assert answer["code"] == 36009004
    assert "filters" in answer["message"]


def test_order_search_requires_page_size(client, world):
    _, shops, token = world

    status, answer = call(
        client, "POST", SEARCH, token=token, cipher=shops[0].cipher, body={}
    )

    assert answer["code"] == 36009004
    assert "page_size" in answer["message"]


def test_order_search_filters_by_update_time(client, world):
    _, shops, token = world
    orders = api.generate_orders(shops[0], 10, seed=2)
    cut = sorted(order.update_time for order in orders)[5]

    answer = call(
        client,
        "POST",
        SEARCH,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 100},
        body={"update_time_ge": cut},
    )[1]

    expected = {o.order_id for o in orders if o.update_time >= cut}
    assert {order["id"] for order in answer["data"]["orders"]} == expected


def test_get_orders_by_ids(client, world):
    _, shops, token = world
    orders = api.generate_orders(shops[0], 3, seed=4)
    ids = [orders[2].order_id, orders[0].order_id]

    answer = call(
        client,
        "GET",
        "/order/202309/orders",
        token=token,
        cipher=shops[0].cipher,
        query={"ids": ",".join(ids)},
    )[1]

    assert [order["id"] for order in answer["data"]["orders"]] == ids


def test_get_orders_over_fifty_ids(client, world):
    _, shops, token = world
    ids = ",".join(str(576000000000000000 + n) for n in range(51))

    answer = call(
        client,
        "GET",
        "/order/202309/orders",
        token=token,
        cipher=shops[0].cipher,
        query={"ids": ids},
    )[1]

    assert answer["code"] == 36009004
    assert "50" in answer["message"]


def test_generator_covers_every_status(db):
    _, shops, _ = make_world()
    statuses = list(mapping.ORDER_STATUS_RANKS)[:-1]

    orders = api.generate_orders(shops[0], len(statuses) * 2, seed=7, statuses=statuses)

    by_status = {order.status: order for order in orders}
    assert set(by_status) == set(statuses)
    assert "recipient_address" not in by_status["UNPAID"].payload
    assert "recipient_address" not in by_status["ON_HOLD"].payload
    assert "recipient_address" in by_status["AWAITING_SHIPMENT"].payload
    assert by_status["IN_TRANSIT"].packages.count() == 1


def test_generator_makes_fulfilled_by_tiktok_orders(db):
    _, shops, _ = make_world()

    orders = api.generate_orders(shops[0], 60, seed=11)

    kinds = {order.fulfillment_type for order in orders}
    assert kinds == {"FULFILLMENT_BY_SELLER", "FULFILLMENT_BY_TIKTOK"}


def test_generator_same_seed_same_orders(db):
    _, shops, _ = make_world()
    first = [o.order_id for o in api.generate_orders(shops[0], 5, seed=9, now=10**9)]
    SandboxOrder.objects.all().delete()

    second = [o.order_id for o in api.generate_orders(shops[0], 5, seed=9, now=10**9)]

    assert first == second


def test_generated_orders_map_like_samples(client, world):
    _, shops, token = world
    api.generate_orders(shops[0], 20, seed=5)

    answer = call(
        client,
        "POST",
        SEARCH,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 50},
        body={},
    )[1]

    records = [mapping.order_record(order) for order in answer["data"]["orders"]]
    assert len(records) == 20
    assert all(isinstance(record.external_id, str) for record in records)
    shipped = [r for r in records if r.address.postal_code]
    assert all(r.address.country_code == "GB" for r in shipped)
    assert all(
        line.seller_sku in {"SOCK-RED", "HAT-1"} for r in records for line in r.lines
    )


# Products and inventory ---------------------------------------------------


def _product(shops):
    return shops[0].products.get(skus__seller_sku="SOCK-RED")


def test_product_search_shape(client, world):
    _, shops, token = world

    answer = call(
        client,
        "POST",
        "/product/202502/products/search",
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        body={"status": "ACTIVATE"},
    )[1]

    products = answer["data"]["products"]
    assert answer["data"]["total_count"] == 2
    records = [r for p in products for r in mapping.product_sku_records(p)]
    assert {r.seller_sku for r in records} == {"SOCK-RED", "HAT-1"}
    default = shops[0].warehouses.get(is_default=True).warehouse_id
    assert records[0].inventory == {default: 100}


def test_product_search_seller_skus_limit(client, world):
    _, shops, token = world

    answer = call(
        client,
        "POST",
        "/product/202502/products/search",
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        body={"seller_skus": [f"S{n}" for n in range(11)]},
    )[1]

    assert answer["code"] == 12019027


def _update(client, world, product_id, skus):
    _, shops, token = world
    return call(
        client,
        "POST",
        f"/product/202309/products/{product_id}/inventory/update",
        token=token,
        cipher=shops[0].cipher,
        body={"skus": skus},
    )[1]


def test_inventory_update_replaces_per_warehouse(client, world):
    _, shops, _ = world
    product = _product(shops)
    sku = product.skus.get()
    main, north = shops[0].warehouses.filter(type="SALES_WAREHOUSE").order_by("pk")

    answer = _update(
        client,
        world,
        product.product_id,
        [
            {
                "id": sku.sku_id,
                "inventory": [
                    {"warehouse_id": main.warehouse_id, "quantity": 7},
                    {"warehouse_id": north.warehouse_id, "quantity": 3},
                ],
            }
        ],
    )

    assert answer["code"] == 0
    assert answer["data"] == {}
    stock = dict(
        SandboxInventory.objects.filter(sku=sku).values_list(
            "warehouse__warehouse_id", "quantity"
        )
    )
    assert stock == {main.warehouse_id: 7, north.warehouse_id: 3}


def test_inventory_update_must_list_all_warehouses(client, world):
    _, shops, _ = world
    product = _product(shops)
    sku = product.skus.get()
    main, north = shops[0].warehouses.filter(type="SALES_WAREHOUSE").order_by("pk")
    SandboxInventory.objects.create(sku=sku, warehouse=north, quantity=4)

    answer = _update(
        client,
        world,
        product.product_id,
        [
            {
                "id": sku.sku_id,
                "inventory": [{"warehouse_id": main.warehouse_id, "quantity": 1}],
            }
        ],
    )

    assert answer["code"] == 12019028
    assert SandboxInventory.objects.get(sku=sku, warehouse=main).quantity == 100


def test_inventory_update_partial_failure_in_code_zero(client, world):
    _, shops, _ = world
    socks = _product(shops)
    hat = shops[0].products.get(skus__seller_sku="HAT-1")
    main = shops[0].warehouses.get(is_default=True)
    sku = socks.skus.get()
    # Two SKUs of one product: move the hat's SKU under the socks product.
    hat_sku = hat.skus.get()
    hat_sku.product = socks
    hat_sku.save()

    answer = _update(
        client,
        world,
        socks.product_id,
        [
            {
                "id": sku.sku_id,
                "inventory": [
                    {"warehouse_id": main.warehouse_id, "quantity": 5},
                    {"warehouse_id": "7068517275539719942", "quantity": 5},
                ],
            },
            {
                "id": hat_sku.sku_id,
                "inventory": [{"warehouse_id": main.warehouse_id, "quantity": 9}],
            },
        ],
    )

    assert answer["code"] == 0
    assert answer["data"]["errors"] == [
        {
            "code": 12052990,
            "message": "Check failed",
            "detail": {
                "sku_id": sku.sku_id,
                "extra_errors": [
                    {
                        "warehouse_id": "7068517275539719942",
                        "code": 12052097,
                        "message": "The warehouse does not exist",
                    }
                ],
            },
        }
    ]
    assert SandboxInventory.objects.get(sku=sku, warehouse=main).quantity == 100
    assert SandboxInventory.objects.get(sku=hat_sku, warehouse=main).quantity == 9


def test_inventory_update_invalid_stock(client, world):
    _, shops, _ = world
    product = _product(shops)
    sku = product.skus.get()
    main = shops[0].warehouses.get(is_default=True)

    answer = _update(
        client,
        world,
        product.product_id,
        [
            {
                "id": sku.sku_id,
                "inventory": [{"warehouse_id": main.warehouse_id, "quantity": 99999}],
            }
        ],
    )

    assert answer["code"] == 12019024
    assert SandboxInventory.objects.get(sku=sku, warehouse=main).quantity == 100


def test_inventory_update_sku_id_required(client, world):
    product = _product(world[1])

    answer = _update(client, world, product.product_id, [{"inventory": []}])

    assert answer["code"] == 12052036


# Fulfilment ---------------------------------------------------------------


def _awaiting_order(shops, *, items=2):
    order = api.generate_orders(shops[0], 1, seed=21, statuses=["AWAITING_SHIPMENT"])[0]
    order.fulfillment_type = "FULFILLMENT_BY_SELLER"
    line = order.payload["line_items"][0]
    order.payload["line_items"] = [
        {**line, "id": f"57700000000000000{n}"} for n in range(items)
    ]
    order.save()
    return order


def _ship(client, world, order, **body):
    _, shops, token = world
    provider = shops[0].delivery_options.get().shipping_providers[0]["id"]
    body = {"tracking_number": "JX1", "shipping_provider_id": provider, **body}
    return call(
        client,
        "POST",
        f"/fulfillment/202309/orders/{order.order_id}/packages",
        token=token,
        cipher=shops[0].cipher,
        body=body,
    )[1]


def test_mark_shipped_partial_then_all(client, world):
    order = _awaiting_order(world[1])

    first = _ship(client, world, order, order_line_item_ids=["577000000000000000"])
    order.refresh_from_db()
    status_after_first = order.status
    second = _ship(client, world, order)
    order.refresh_from_db()

    assert first["code"] == 0
    assert first["data"]["order_line_item_ids"] == ["577000000000000000"]
    assert status_after_first == "PARTIALLY_SHIPPING"
    assert second["data"]["order_line_item_ids"] == ["577000000000000001"]
    assert order.status == "AWAITING_COLLECTION"
    assert order.packages.count() == 2


def test_mark_shipped_then_carrier_scans(client, world):
    order = _awaiting_order(world[1], items=1)
    _ship(client, world, order)

    statuses = [api.advance_order(order.order_id).status for _ in range(3)]

    assert statuses == ["IN_TRANSIT", "DELIVERED", "COMPLETED"]


def test_mark_shipped_rejects_fulfilled_by_tiktok(client, world):
    order = _awaiting_order(world[1])
    order.fulfillment_type = "FULFILLMENT_BY_TIKTOK"
    order.save()

    answer = _ship(client, world, order)

    assert answer["code"] == 21011001
    assert order.packages.count() == 0


def test_mark_shipped_rejects_unknown_provider(client, world):
    order = _awaiting_order(world[1])

    answer = _ship(client, world, order, shipping_provider_id="1")

    assert answer["code"] == 21011002
    assert order.packages.count() == 0


def test_mark_shipped_rejects_shipped_line(client, world):
    order = _awaiting_order(world[1])
    _ship(client, world, order, order_line_item_ids=["577000000000000000"])

    answer = _ship(client, world, order, order_line_item_ids=["577000000000000000"])

    assert answer["code"] == 21011003
    assert order.packages.count() == 1


def test_mark_shipped_other_shop_order(client, world):
    _, shops, token = world
    api.add_products(shops[1], [{"title": "Cap", "seller_sku": "CAP-1"}])
    foreign = api.generate_orders(shops[1], 1, seed=2, statuses=["AWAITING_SHIPMENT"])[
        0
    ]

    answer = _ship(client, world, foreign)

    assert answer["code"] == 21008111


def test_shipping_providers_of_delivery_option(client, world):
    _, shops, token = world
    option = shops[0].delivery_options.get()

    answer = call(
        client,
        "GET",
        f"/logistics/202309/delivery_options/{option.option_id}/shipping_providers",
        token=token,
        cipher=shops[0].cipher,
    )[1]

    names = [provider["name"] for provider in answer["data"]["shipping_providers"]]
    assert names == ["Royal Mail", "DPD", "Evri"]


# Returns ------------------------------------------------------------------


def test_returns_search(client, world):
    _, shops, token = world
    api.generate_orders(shops[0], 6, seed=8, statuses=["DELIVERED", "COMPLETED"])
    returns = api.generate_returns(shops[0], 4, seed=1)

    answer = call(
        client,
        "POST",
        "/return_refund/202309/returns/search",
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 3},
        body={},
    )[1]

    assert answer["data"]["total_count"] == 4
    assert len(answer["data"]["return_orders"]) == 3
    assert answer["data"]["next_page_token"] != ""
    record = mapping.return_record(answer["data"]["return_orders"][0])
    assert record.external_id in {r.return_id for r in returns}
    assert record.lines[0].quantity >= 1


def test_returns_search_page_size_limit(client, world):
    _, shops, token = world

    answer = call(
        client,
        "POST",
        "/return_refund/202309/returns/search",
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 51},
        body={},
    )[1]

    assert answer["code"] == 36009004


# Webhooks -----------------------------------------------------------------


@responses.activate
def test_send_webhook_signs_body(world):
    app, shops, _ = world
    responses.post("http://hub.test/hook", status=200)

    delivery = api.send_webhook(
        app,
        shops[0],
        1,
        {"order_id": "576", "order_status": "AWAITING_SHIPMENT"},
        notification_id="7327112393057371910",
        url="http://hub.test/hook",
    )

    request = responses.calls[0].request
    body = json.loads(request.body)
    assert verify_webhook(
        APP_KEY, APP_SECRET, request.body, request.headers["Authorization"]
    )
    assert body["type"] == 1
    assert body["tts_notification_id"] == "7327112393057371910"
    assert body["shop_id"] == shops[0].shop_id
    assert request.headers["Content-Type"] == "application/json"
    assert delivery.status_code == 200


@responses.activate
def test_status_change_webhook_sent_after_commit(
    client, world, django_capture_on_commit_callbacks
):
    api.ensure_app(
        APP_KEY,
        APP_SECRET,
        SERVICE_ID,
        webhook_url="http://hub.test/hook",
        send_status_webhooks=True,
    )
    responses.post("http://hub.test/hook", status=200)
    order = _awaiting_order(world[1], items=1)

    with django_capture_on_commit_callbacks(execute=True):
        _ship(client, world, order)
    for thread in threading.enumerate():
        if thread.name == "tiktok-sandbox-webhook":
            thread.join(timeout=5)

    request = responses.calls[0].request
    body = json.loads(request.body)
    assert body["type"] == 1
    assert body["data"]["order_id"] == order.order_id
    assert body["data"]["order_status"] == "AWAITING_COLLECTION"
    assert verify_webhook(
        APP_KEY, APP_SECRET, request.body, request.headers["Authorization"]
    )
