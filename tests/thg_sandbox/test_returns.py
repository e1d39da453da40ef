import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.thg.sandbox import services
from connectors.thg.sandbox.errors import SandboxError
from connectors.thg.sandbox.formats import format_time
from connectors.thg.sandbox.generator import GeneratedLine
from connectors.thg.sandbox.models import SandboxOrderLine, SandboxReturn
from connectors.thg.sandbox.orders import create_order

from .conftest import error_of


def _dispatched_order(api, account, created_at=None):
    order = create_order(
        account,
        customer={"name": "Rhys Evans", "email": "rhys.evans@example.test"},
        address={
            "name": "Rhys Evans",
            "line1": "3 Station Road",
            "line2": "",
            "city": "Cardiff",
            "county": "South Glamorgan",
            "postcode": "CF10 1EP",
            "country_code": "GB",
        },
        lines=[
            GeneratedLine("1", "5012345678900", "", "Blue mug", 2, Decimal("9.99")),
            GeneratedLine("2", "5012345678924", "", "Tea towel", 1, Decimal("4.99")),
        ],
        created_at=created_at,
    )
    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": f"FUL-{order.order_id}",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "Royal Mail",
            "lines": [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}],
        },
    )
    assert response.status_code == 201
    return order


def _hub_return(order, reference="RET-1", quantity=1):
    return {
        "return_reference": reference,
        "order_id": order.order_id,
        "lines": [{"line_id": "1", "quantity": quantity, "reason": "Damaged box"}],
    }


def _receipt(reference="RCV-1", quantity=1, condition="GOOD"):
    return {
        "receipt_reference": reference,
        "received_at": "2026-12-05T11:00:00Z",
        "lines": [{"line_id": "1", "quantity": quantity, "condition": condition}],
    }


def test_return_list_shape(api, account):
    order = _dispatched_order(api, account)
    record = services.create_return(account, order.order_id, [("1", 1)])

    response = api.get("/returns")

    assert response.status_code == 200
    assert response.json()["meta"] == {"next": None}
    [item] = response.json()["data"]
    assert item == record.payload
    assert item["id"] == record.return_id
    assert item["id"].startswith("R-")
    assert item["order_id"] == order.order_id
    assert item["status"] == "REQUESTED"
    assert item["reason"] == "Changed mind"
    assert item["lines"] == [
        {
            "line_id": "1",
            "upc": "5012345678900",
            "quantity": 1,
            "reason": "Changed mind",
            "condition": None,
        }
    ]


def test_return_list_pages_with_cursor(api, account):
    created = []
    for _ in range(3):
        order = _dispatched_order(api, account)
        created.append(services.create_return(account, order.order_id, [("1", 1)]))

    first = api.get("/returns", {"limit": 2})
    second = api.get("/returns", {"limit": 2, "after": first.json()["meta"]["next"]})

    assert [item["id"] for item in first.json()["data"]] == [
        created[0].return_id,
        created[1].return_id,
    ]
    assert [item["id"] for item in second.json()["data"]] == [created[2].return_id]
    assert second.json()["meta"]["next"] is None


def test_return_list_filters_and_history(api, account):
    now = timezone.now().replace(microsecond=0)
    order = _dispatched_order(api, account)
    old = services.create_return(
        account, order.order_id, [("1", 1)], created_at=now - dt.timedelta(days=3)
    )
    recent = services.create_return(account, order.order_id, [("2", 1)])

    window = api.get(
        "/returns", {"updated_from": format_time(now - dt.timedelta(days=1))}
    )
    too_old = api.get(
        "/returns", {"updated_from": format_time(now - dt.timedelta(days=200))}
    )
    bad_limit = api.get("/returns", {"limit": "101"})

    assert [item["id"] for item in window.json()["data"]] == [recent.return_id]
    assert old.return_id not in [item["id"] for item in window.json()["data"]]
    assert too_old.status_code == 400
    assert error_of(too_old)["code"] == "HistoryLimitExceeded"
    assert bad_limit.status_code == 400
    assert error_of(bad_limit)["source"] == {"pointer": "/limit"}


def test_hub_return_created_201(api, account):
    order = _dispatched_order(api, account)

    response = api.post("/returns", _hub_return(order))

    assert response.status_code == 201
    body = response.json()
    record = SandboxReturn.objects.get()
    assert body == record.payload
    assert body["status"] == "APPROVED"
    assert body["return_reference"] == "RET-1"
    assert body["lines"] == [
        {
            "line_id": "1",
            "upc": "5012345678900",
            "quantity": 1,
            "reason": "Damaged box",
            "condition": None,
        }
    ]
    assert SandboxOrderLine.objects.get(order=order, line_id="1").returned_quantity == 1


def test_hub_return_same_reference_same_content_200(api, account):
    order = _dispatched_order(api, account)
    first = api.post("/returns", _hub_return(order))

    again = api.post("/returns", _hub_return(order))

    assert again.status_code == 200
    assert again.json() == first.json()
    assert SandboxReturn.objects.count() == 1
    assert SandboxOrderLine.objects.get(order=order, line_id="1").returned_quantity == 1


def test_hub_return_same_reference_other_content_409(api, account):
    order = _dispatched_order(api, account)
    api.post("/returns", _hub_return(order))

    response = api.post("/returns", _hub_return(order, quantity=2))

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "ConflictException"
    assert error["source"] == {"pointer": "/return_reference"}
    assert SandboxReturn.objects.count() == 1
    assert SandboxOrderLine.objects.get(order=order, line_id="1").returned_quantity == 1


def test_hub_return_over_dispatched_400(api, account):
    order = _dispatched_order(api, account)

    response = api.post("/returns", _hub_return(order, quantity=3))

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationException"
    assert error["source"] == {"pointer": "/lines/0/quantity"}
    assert SandboxReturn.objects.count() == 0


def test_hub_return_undispatched_order_400(api, account):
    [order] = services.generate_orders(account, 1, seed=1)

    response = api.post("/returns", _hub_return(order))

    assert response.status_code == 400
    assert "0 that can be returned" in error_of(response)["detail"]
    assert SandboxReturn.objects.count() == 0


def test_hub_return_unknown_order_404(api, account):
    response = api.post(
        "/returns",
        {
            "return_reference": "RET-1",
            "order_id": "999",
            "lines": [{"line_id": "1", "quantity": 1}],
        },
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFoundException"
    assert error_of(response)["source"] == {"pointer": "/order_id"}


def test_hub_return_missing_reference_400(api, account):
    order = _dispatched_order(api, account)
    body = _hub_return(order)
    del body["return_reference"]

    response = api.post("/returns", body)

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/return_reference"}
    assert SandboxReturn.objects.count() == 0


def test_receipt_200_received(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]

    response = api.post(f"/returns/{return_id}/receipt", _receipt())

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "RECEIVED"
    assert body["receipt_reference"] == "RCV-1"
    assert body["lines"][0]["condition"] == "GOOD"
    record = SandboxReturn.objects.get()
    assert record.status == "RECEIVED"
    assert record.payload == body


def test_receipt_same_reference_200(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]
    first = api.post(f"/returns/{return_id}/receipt", _receipt())

    again = api.post(f"/returns/{return_id}/receipt", _receipt())

    assert again.status_code == 200
    assert again.json() == first.json()


def test_receipt_same_reference_other_content_409(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]
    api.post(f"/returns/{return_id}/receipt", _receipt())

    response = api.post(f"/returns/{return_id}/receipt", _receipt(condition="DAMAGED"))

    assert response.status_code == 409
    assert error_of(response)["source"] == {"pointer": "/receipt_reference"}
    assert SandboxReturn.objects.get().payload["lines"][0]["condition"] == "GOOD"


def test_receipt_other_reference_after_receipt_409(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]
    api.post(f"/returns/{return_id}/receipt", _receipt())

    response = api.post(f"/returns/{return_id}/receipt", _receipt("RCV-2"))

    assert response.status_code == 409
    assert "RCV-1" in error_of(response)["detail"]
    assert SandboxReturn.objects.get().receipt_reference == "RCV-1"


def test_receipt_cancelled_return_409(api, account):
    order = _dispatched_order(api, account)
    record = services.create_return(account, order.order_id, [("1", 1)])
    services.update_return_status(account, record.return_id, "CANCELLED")

    response = api.post(f"/returns/{record.return_id}/receipt", _receipt())

    assert response.status_code == 409
    assert SandboxReturn.objects.get().status == "CANCELLED"


def test_receipt_bad_condition_400(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]

    response = api.post(f"/returns/{return_id}/receipt", _receipt(condition="USED"))

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/0/condition"}
    assert SandboxReturn.objects.get().status == "APPROVED"


def test_receipt_over_returned_quantity_400(api, account):
    order = _dispatched_order(api, account)
    return_id = api.post("/returns", _hub_return(order)).json()["id"]

    response = api.post(f"/returns/{return_id}/receipt", _receipt(quantity=2))

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/0/quantity"}
    assert SandboxReturn.objects.get().status == "APPROVED"


def test_receipt_unknown_return_404(api, account):
    response = api.post("/returns/R-1/receipt", _receipt())

    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFoundException"


def test_create_return_over_dispatched_raises(api, account):
    order = _dispatched_order(api, account)

    with pytest.raises(SandboxError, match="2 that can be returned"):
        services.create_return(account, order.order_id, [("1", 3)])

    assert SandboxReturn.objects.count() == 0


def test_cancelled_return_releases_quantity(api, account):
    order = _dispatched_order(api, account)
    record = services.create_return(account, order.order_id, [("1", 2)])

    services.update_return_status(account, record.return_id, "CANCELLED")
    again = services.create_return(account, order.order_id, [("1", 2)])

    assert again.status == "REQUESTED"
    assert SandboxOrderLine.objects.get(order=order, line_id="1").returned_quantity == 2


def test_update_return_status_moves_updated_at(api, account):
    order = _dispatched_order(api, account)
    record = services.create_return(account, order.order_id, [("1", 1)])
    before = record.updated_at

    updated = services.update_return_status(account, record.return_id, "APPROVED")

    assert updated.status == "APPROVED"
    assert updated.payload["status"] == "APPROVED"
    assert updated.updated_at > before
    assert updated.payload["updated_at"] == format_time(updated.updated_at)


def test_update_return_status_unknown_status_raises(api, account):
    order = _dispatched_order(api, account)
    record = services.create_return(account, order.order_id, [("1", 1)])

    with pytest.raises(SandboxError, match="Unknown return status"):
        services.update_return_status(account, record.return_id, "LOST")

    record.refresh_from_db()
    assert record.status == "REQUESTED"


def test_generate_returns_only_for_dispatched(api, account):
    services.generate_orders(account, 3, seed=1)
    first = _dispatched_order(api, account)
    second = _dispatched_order(api, account)

    created = services.generate_returns(account, 5, seed=9)

    assert len(created) == 2
    assert {record.order.order_id for record in created} == {
        first.order_id,
        second.order_id,
    }
    for record in created:
        assert record.status == "REQUESTED"
        assert record.payload["reason"] in {
            "Changed mind",
            "Wrong size",
            "Arrived damaged",
            "Not as described",
            "Better price elsewhere",
        }
