import datetime as dt

import pytest
from django.utils import timezone

from connectors.thg.sandbox import services
from connectors.thg.sandbox.formats import format_time
from connectors.thg.sandbox.models import SandboxOrder

from .conftest import error_of


def _iso(value: dt.datetime) -> str:
    return format_time(value)


def test_order_list_payload_shape(api, account):
    [order] = services.generate_orders(account, 1, seed=5)

    response = api.get("/orders")

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"next": None}
    [item] = body["data"]
    assert item == order.payload
    assert set(item) == {
        "id",
        "reference",
        "status",
        "created_at",
        "updated_at",
        "currency",
        "customer",
        "shipping_address",
        "lines",
        "totals",
    }
    assert item["reference"] == f"THG-{item['id']}"
    assert item["status"] == "NEW"
    assert item["currency"] == "GBP"
    assert set(item["customer"]) == {"name", "email"}
    assert set(item["shipping_address"]) == {
        "name",
        "line1",
        "line2",
        "city",
        "county",
        "postcode",
        "country_code",
    }
    assert set(item["lines"][0]) == {
        "id",
        "upc",
        "sku",
        "title",
        "quantity",
        "unit_price",
        "status",
    }


def test_order_list_pages_with_cursor(api, account):
    created = services.generate_orders(account, 7, seed=11)
    expected_ids = [order.order_id for order in created]

    first = api.get("/orders", {"limit": 3})
    second = api.get("/orders", {"limit": 3, "after": first.json()["meta"]["next"]})
    third = api.get("/orders", {"limit": 3, "after": second.json()["meta"]["next"]})

    assert [item["id"] for item in first.json()["data"]] == expected_ids[0:3]
    assert [item["id"] for item in second.json()["data"]] == expected_ids[3:6]
    assert [item["id"] for item in third.json()["data"]] == expected_ids[6:7]
    assert first.json()["meta"]["next"] is not None
    assert second.json()["meta"]["next"] is not None
    assert third.json()["meta"]["next"] is None


def test_order_list_exact_page_has_no_next(api, account):
    services.generate_orders(account, 3, seed=11)

    response = api.get("/orders", {"limit": 3})

    assert len(response.json()["data"]) == 3
    assert response.json()["meta"]["next"] is None


def test_order_list_sorted_by_updated_at_then_id(api, account):
    now = timezone.now().replace(microsecond=0)
    older = services.generate_orders(
        account, 2, seed=1, created_at=now - dt.timedelta(hours=2)
    )
    newer = services.generate_orders(
        account, 2, seed=2, created_at=now - dt.timedelta(hours=1)
    )
    SandboxOrder.objects.filter(pk=older[0].pk).update(
        updated_at=now - dt.timedelta(minutes=30)
    )

    response = api.get("/orders")

    assert [item["id"] for item in response.json()["data"]] == [
        older[1].order_id,
        newer[0].order_id,
        newer[1].order_id,
        older[0].order_id,
    ]


def test_paging_updated_order_moves_last(api, account):
    now = timezone.now().replace(microsecond=0)
    created = services.generate_orders(
        account, 4, seed=4, created_at=now - dt.timedelta(minutes=5)
    )
    first = api.get("/orders", {"limit": 2})

    api.post(f"/orders/{created[0].order_id}/acknowledgement")
    second = api.get("/orders", {"limit": 2, "after": first.json()["meta"]["next"]})
    third = api.get("/orders", {"limit": 2, "after": second.json()["meta"]["next"]})

    assert [item["id"] for item in second.json()["data"]] == [
        created[2].order_id,
        created[3].order_id,
    ]
    assert [item["id"] for item in third.json()["data"]] == [created[0].order_id]
    assert third.json()["data"][0]["status"] == "ACKNOWLEDGED"


def test_order_list_updated_from_and_to(api, account):
    now = timezone.now().replace(microsecond=0)
    old = services.generate_orders(
        account, 1, seed=1, created_at=now - dt.timedelta(days=10)
    )
    middle = services.generate_orders(
        account, 1, seed=2, created_at=now - dt.timedelta(days=5)
    )
    services.generate_orders(account, 1, seed=3, created_at=now - dt.timedelta(days=1))

    response = api.get(
        "/orders",
        {
            "updated_from": _iso(now - dt.timedelta(days=6)),
            "updated_to": _iso(now - dt.timedelta(days=5)),
        },
    )

    assert [item["id"] for item in response.json()["data"]] == [middle[0].order_id]
    assert old[0].order_id not in [item["id"] for item in response.json()["data"]]


def test_order_list_bounds_are_inclusive(api, account):
    created_at = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    [order] = services.generate_orders(account, 1, seed=1, created_at=created_at)

    response = api.get(
        "/orders",
        {"updated_from": _iso(created_at), "updated_to": _iso(created_at)},
    )

    assert [item["id"] for item in response.json()["data"]] == [order.order_id]


def test_order_list_default_limit_50(api, account):
    services.generate_orders(account, 51, seed=8)

    response = api.get("/orders")

    assert len(response.json()["data"]) == 50
    assert response.json()["meta"]["next"] is not None


def test_order_list_limit_100_allowed(api, account):
    services.generate_orders(account, 2, seed=8)

    response = api.get("/orders", {"limit": 100})

    assert response.status_code == 200
    assert len(response.json()["data"]) == 2


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "2.5"])
def test_order_list_limit_out_of_range_400(api, account, limit):
    response = api.get("/orders", {"limit": limit})

    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "400"
    assert error["code"] == "ValidationException"
    assert error["source"] == {"pointer": "/limit"}
    assert "1 to 100" in error["detail"]


def test_order_list_bad_cursor_400(api, account):
    response = api.get("/orders", {"after": "not-a-cursor"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationException"
    assert error_of(response)["source"] == {"pointer": "/after"}


def test_order_list_bad_time_400(api, account):
    response = api.get("/orders", {"updated_from": "yesterday"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationException"
    assert error_of(response)["source"] == {"pointer": "/updated_from"}


def test_order_list_time_without_offset_400(api, account):
    response = api.get("/orders", {"updated_from": "2026-11-30T10:15:00"})

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/updated_from"}


def test_order_list_to_before_from_400(api, account):
    now = timezone.now()

    response = api.get(
        "/orders",
        {
            "updated_from": _iso(now - dt.timedelta(days=1)),
            "updated_to": _iso(now - dt.timedelta(days=2)),
        },
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/updated_to"}


def test_order_list_history_limit_400(api, account):
    response = api.get(
        "/orders", {"updated_from": _iso(timezone.now() - dt.timedelta(days=184))}
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "HistoryLimitExceeded"
    assert error["source"] == {"pointer": "/updated_from"}
    assert "183 days" in error["detail"]


def test_order_list_within_history_limit(api, account):
    now = timezone.now().replace(microsecond=0)
    [recent] = services.generate_orders(
        account, 1, seed=1, created_at=now - dt.timedelta(days=100)
    )
    services.generate_orders(
        account, 1, seed=2, created_at=now - dt.timedelta(days=200)
    )

    bounded = api.get("/orders", {"updated_from": _iso(now - dt.timedelta(days=182))})
    default = api.get("/orders")

    assert bounded.status_code == 200
    assert [item["id"] for item in bounded.json()["data"]] == [recent.order_id]
    assert [item["id"] for item in default.json()["data"]] == [recent.order_id]


def test_order_detail(api, account):
    [order] = services.generate_orders(account, 1, seed=1)

    response = api.get(f"/orders/{order.order_id}")

    assert response.status_code == 200
    assert response.json() == order.payload


def test_order_detail_unknown_404(api, account):
    response = api.get("/orders/999")

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "NotFoundException"
    assert "'999'" in error["detail"]


def test_acknowledgement_204(api, account):
    created_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    [order] = services.generate_orders(account, 1, seed=1, created_at=created_at)

    response = api.post(f"/orders/{order.order_id}/acknowledgement")

    assert response.status_code == 204
    assert response.content == b""
    order.refresh_from_db()
    assert order.status == "ACKNOWLEDGED"
    assert order.acknowledged_at is not None
    assert order.updated_at > created_at
    assert order.payload["status"] == "ACKNOWLEDGED"
    assert order.payload["updated_at"] == format_time(order.updated_at)
    assert api.get(f"/orders/{order.order_id}").json()["status"] == "ACKNOWLEDGED"


def test_acknowledgement_twice_keeps_first(api, account):
    [order] = services.generate_orders(account, 1, seed=1)
    api.post(f"/orders/{order.order_id}/acknowledgement")
    order.refresh_from_db()
    first_updated_at = order.updated_at

    response = api.post(f"/orders/{order.order_id}/acknowledgement")

    assert response.status_code == 204
    order.refresh_from_db()
    assert order.status == "ACKNOWLEDGED"
    assert order.updated_at == first_updated_at


def test_acknowledgement_bumps_within_same_second(api, account):
    [order] = services.generate_orders(account, 1, seed=1)
    created_at = order.updated_at

    api.post(f"/orders/{order.order_id}/acknowledgement")

    order.refresh_from_db()
    assert order.updated_at > created_at


def test_acknowledgement_unknown_order_404(api, account):
    response = api.post("/orders/999/acknowledgement")

    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFoundException"


def test_acknowledgement_get_405(api, account):
    [order] = services.generate_orders(account, 1, seed=1)

    response = api.get(f"/orders/{order.order_id}/acknowledgement")

    assert response.status_code == 405
    order.refresh_from_db()
    assert order.status == "NEW"
