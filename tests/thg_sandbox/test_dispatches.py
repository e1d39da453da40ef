from connectors.thg.sandbox import services
from connectors.thg.sandbox.models import SandboxDispatch, SandboxOrderLine

from .conftest import error_of, two_line_order


def _dispatch_body(reference="FUL-1", lines=None, **overrides):
    body = {
        "dispatch_reference": reference,
        "warehouse_id": "WH-LEEDS-01",
        "carrier": "Royal Mail",
        "service": "Tracked 48",
        "tracking_number": "RM123456789GB",
        "tracking_url": "https://tracking.example.test/RM123456789GB",
        "dispatched_at": "2026-12-01T09:00:00Z",
        "lines": lines if lines is not None else [{"line_id": "1", "quantity": 2}],
    }
    body.update(overrides)
    return body


def _line(order, line_id):
    return SandboxOrderLine.objects.get(order=order, line_id=line_id)


def test_dispatch_created_201(api, account):
    order = two_line_order(account)
    updated_before = order.updated_at

    response = api.post(f"/orders/{order.order_id}/dispatches", _dispatch_body())

    assert response.status_code == 201
    body = response.json()
    dispatch = SandboxDispatch.objects.get()
    assert body == dispatch.response
    assert body["id"] == dispatch.dispatch_id
    assert body["dispatch_reference"] == "FUL-1"
    assert body["order_id"] == order.order_id
    assert body["warehouse_id"] == "WH-LEEDS-01"
    assert body["carrier"] == "Royal Mail"
    assert body["service"] == "Tracked 48"
    assert body["tracking_number"] == "RM123456789GB"
    assert body["tracking_url"] == "https://tracking.example.test/RM123456789GB"
    assert body["dispatched_at"] == "2026-12-01T09:00:00Z"
    assert body["lines"] == [{"line_id": "1", "quantity": 2}]
    order.refresh_from_db()
    assert order.status == "PARTIALLY_DISPATCHED"
    assert order.payload["status"] == "PARTIALLY_DISPATCHED"
    assert order.updated_at > updated_before
    assert _line(order, "1").dispatched_quantity == 2


def test_dispatch_all_lines_dispatched(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(
            lines=[{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}]
        ),
    )

    assert response.status_code == 201
    order.refresh_from_db()
    assert order.status == "DISPATCHED"
    assert api.get(f"/orders/{order.order_id}").json()["status"] == "DISPATCHED"


def test_dispatch_partial_then_rest(api, account):
    order = two_line_order(account)
    api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body("FUL-1", [{"line_id": "1", "quantity": 1}]),
    )

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(
            "FUL-2",
            [{"line_id": "1", "quantity": 1}, {"line_id": "2", "quantity": 1}],
        ),
    )

    assert response.status_code == 201
    order.refresh_from_db()
    assert order.status == "DISPATCHED"
    assert _line(order, "1").dispatched_quantity == 2
    assert _line(order, "2").dispatched_quantity == 1
    assert SandboxDispatch.objects.count() == 2


def test_dispatch_same_reference_same_content_200(api, account):
    order = two_line_order(account)
    first = api.post(f"/orders/{order.order_id}/dispatches", _dispatch_body())

    again = api.post(f"/orders/{order.order_id}/dispatches", _dispatch_body())

    assert again.status_code == 200
    assert again.json() == first.json()
    assert SandboxDispatch.objects.count() == 1
    assert _line(order, "1").dispatched_quantity == 2


def test_dispatch_same_reference_lines_reordered_200(api, account):
    order = two_line_order(account)
    lines = [{"line_id": "1", "quantity": 1}, {"line_id": "2", "quantity": 1}]
    api.post(f"/orders/{order.order_id}/dispatches", _dispatch_body(lines=lines))

    again = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(lines=list(reversed(lines))),
    )

    assert again.status_code == 200
    assert SandboxDispatch.objects.count() == 1


def test_dispatch_same_reference_other_content_409(api, account):
    order = two_line_order(account)
    api.post(f"/orders/{order.order_id}/dispatches", _dispatch_body())

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(tracking_number="RM000000000GB"),
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["status"] == "409"
    assert error["code"] == "ConflictException"
    assert error["source"] == {"pointer": "/dispatch_reference"}
    assert SandboxDispatch.objects.get().response["tracking_number"] == "RM123456789GB"


def test_dispatch_reference_reused_on_other_order_409(api, account):
    first = two_line_order(account)
    second = two_line_order(account)
    api.post(f"/orders/{first.order_id}/dispatches", _dispatch_body())

    response = api.post(f"/orders/{second.order_id}/dispatches", _dispatch_body())

    assert response.status_code == 409
    assert _line(second, "1").dispatched_quantity == 0


def test_dispatch_over_open_quantity_400(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(lines=[{"line_id": "1", "quantity": 3}]),
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationException"
    assert error["source"] == {"pointer": "/lines/0/quantity"}
    assert "2 open" in error["detail"]
    order.refresh_from_db()
    assert order.status == "NEW"
    assert _line(order, "1").dispatched_quantity == 0
    assert SandboxDispatch.objects.count() == 0


def test_dispatch_over_remaining_after_partial_400(api, account):
    order = two_line_order(account)
    api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body("FUL-1", [{"line_id": "1", "quantity": 1}]),
    )

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(
            "FUL-2",
            [{"line_id": "2", "quantity": 1}, {"line_id": "1", "quantity": 2}],
        ),
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/1/quantity"}
    assert _line(order, "1").dispatched_quantity == 1
    assert _line(order, "2").dispatched_quantity == 0


def test_dispatch_repeated_line_summed_400(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(
            lines=[{"line_id": "1", "quantity": 2}, {"line_id": "1", "quantity": 1}]
        ),
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/1/quantity"}
    assert _line(order, "1").dispatched_quantity == 0


def test_dispatch_cancelled_line_400(api, account):
    order = two_line_order(account)
    services.cancel_line(account, order.order_id, "2")

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(lines=[{"line_id": "2", "quantity": 1}]),
    )

    assert response.status_code == 400
    assert "status CANCELLED" in error_of(response)["detail"]
    assert SandboxDispatch.objects.count() == 0


def test_dispatch_unknown_line_400(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(lines=[{"line_id": "9", "quantity": 1}]),
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/0/line_id"}


def test_dispatch_zero_quantity_400(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(lines=[{"line_id": "1", "quantity": 0}]),
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/lines/0/quantity"}


def test_dispatch_missing_reference_400(api, account):
    order = two_line_order(account)
    body = _dispatch_body()
    del body["dispatch_reference"]

    response = api.post(f"/orders/{order.order_id}/dispatches", body)

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/dispatch_reference"}
    assert SandboxDispatch.objects.count() == 0


def test_dispatch_bad_time_400(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(dispatched_at="tomorrow"),
    )

    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/dispatched_at"}


def test_dispatch_invalid_json_400(api, account):
    order = two_line_order(account)

    response = api.client.post(
        f"/sandbox/thg/v1/orders/{order.order_id}/dispatches",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationException"
    assert error_of(response)["source"] == {"pointer": ""}


def test_dispatch_unknown_warehouse_404(api, account):
    order = two_line_order(account)

    response = api.post(
        f"/orders/{order.order_id}/dispatches",
        _dispatch_body(warehouse_id="WH-NOWHERE-09"),
    )

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "NotFoundException"
    assert error["source"] == {"pointer": "/warehouse_id"}
    assert SandboxDispatch.objects.count() == 0


def test_dispatch_unknown_order_404(api, account):
    response = api.post("/orders/999/dispatches", _dispatch_body())

    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFoundException"
    assert SandboxDispatch.objects.count() == 0


def test_dispatch_without_time_uses_created_at(api, account):
    order = two_line_order(account)
    body = _dispatch_body()
    del body["dispatched_at"]

    response = api.post(f"/orders/{order.order_id}/dispatches", body)

    assert response.status_code == 201
    assert response.json()["dispatched_at"] == response.json()["created_at"]
