import base64
import datetime as dt
import json
import re

import pytest
import requests
import responses
from django.utils import timezone

from connectors.thg.sandbox import services
from connectors.thg.sandbox.errors import SandboxError
from connectors.thg.sandbox.models import SandboxEvent, SandboxEventDelivery

from .conftest import two_line_order

HUB_URL = "http://127.0.0.1:8000/integrations/thg/abc123/events"
BASIC = "Basic " + base64.b64encode(b"thg-demo:inbound-pass-123").decode()


@pytest.fixture
def hub():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, HUB_URL, status=202)
        yield mock


@pytest.fixture
def registered(account):
    return services.register_hub(account, HUB_URL, "thg-demo", "inbound-pass-123")


def _posted(hub) -> list[dict]:
    return [json.loads(call.request.body) for call in hub.calls]


def test_event_id_format(account):
    [order] = services.generate_orders(account, 1, seed=1)

    event = services.build_order_event(order)

    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", event.event_id)
    assert event.payload["id"] == event.event_id


def test_activate_sends_connection_activated(hub, registered):
    services.deactivate(registered)

    deliveries = services.activate(registered)

    assert len(hub.calls) == 1
    request = hub.calls[0].request
    assert request.headers["Authorization"] == BASIC
    body = json.loads(request.body)
    assert body["type"] == "connection.activated"
    assert body["data"]["realm"] == "junction-test"
    assert body["data"]["client_id"] == "hub-client"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["occurred_at"])
    [delivery] = deliveries
    assert delivery.status_code == 202
    assert SandboxEvent.objects.get().delivered_at is not None


def test_activate_unregistered_keeps_event_pending(hub, account):
    services.deactivate(account)

    deliveries = services.activate(account)

    assert deliveries == []
    assert len(hub.calls) == 0
    event = SandboxEvent.objects.get()
    assert event.event_type == "connection.activated"
    assert event.delivered_at is None


def test_pending_events_sent_after_registration(hub, account):
    services.generate_orders(account, 2, seed=1)
    services.activate(account)
    services.register_hub(account, HUB_URL, "thg-demo", "inbound-pass-123")

    deliveries = services.send_pending_events(account)

    assert [body["type"] for body in _posted(hub)] == [
        "order.created",
        "order.created",
        "connection.activated",
    ]
    assert len(deliveries) == 3
    assert services.pending_events(account).count() == 0


def test_generate_orders_sends_order_created(hub, registered):
    orders = services.generate_orders(registered, 2, seed=3, send_events=True)

    posted = _posted(hub)
    assert [body["type"] for body in posted] == ["order.created", "order.created"]
    assert [body["data"] for body in posted] == [order.payload for order in orders]
    assert all(call.request.headers["Authorization"] == BASIC for call in hub.calls)
    assert SandboxEventDelivery.objects.filter(status_code=202).count() == 2


def test_generate_orders_without_send_keeps_pending(hub, registered):
    services.generate_orders(registered, 2, seed=3)

    assert len(hub.calls) == 0
    assert services.pending_events(registered).count() == 2


def test_inactive_account_sends_nothing(hub, registered):
    services.deactivate(registered)

    services.generate_orders(registered, 2, seed=3, send_events=True)

    assert len(hub.calls) == 0
    assert SandboxEventDelivery.objects.count() == 0
    assert services.pending_events(registered).count() == 2


def test_send_events_duplicate_same_id_twice(hub, registered):
    orders = services.generate_orders(registered, 2, seed=3)
    events = list(services.pending_events(registered))

    deliveries = services.send_events(registered, events, duplicate=True)

    ids = [body["id"] for body in _posted(hub)]
    assert ids == [
        events[0].event_id,
        events[0].event_id,
        events[1].event_id,
        events[1].event_id,
    ]
    assert len(deliveries) == 4
    assert len(orders) == 2


def test_send_events_shuffle_is_seeded(hub, registered):
    services.generate_orders(registered, 6, seed=3)
    events = list(services.pending_events(registered))

    services.send_events(registered, events, shuffle=True, seed=5)
    first = [body["id"] for body in _posted(hub)]
    hub.calls.reset()
    services.send_events(registered, events, shuffle=True, seed=5)
    second = [body["id"] for body in _posted(hub)]

    assert first == second
    assert sorted(first) == sorted(event.event_id for event in events)
    assert first != [event.event_id for event in events]


def test_hub_error_keeps_event_pending(registered):
    services.generate_orders(registered, 1, seed=3)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, HUB_URL, status=500, body="boom")
        mock.add(responses.POST, HUB_URL, status=200)

        failed = services.send_pending_events(registered)
        assert services.pending_events(registered).count() == 1
        succeeded = services.send_pending_events(registered)

    assert failed[0].status_code == 500
    assert failed[0].response_body == "boom"
    assert succeeded[0].status_code == 200
    assert services.pending_events(registered).count() == 0
    assert SandboxEventDelivery.objects.count() == 2


def test_hub_unreachable_records_error(registered):
    services.generate_orders(registered, 1, seed=3)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, HUB_URL, body=requests.ConnectionError("refused"))

        [delivery] = services.send_pending_events(registered)

    assert delivery.status_code is None
    assert delivery.error == "ConnectionError: refused"
    assert services.pending_events(registered).count() == 1


def test_cancel_order_sends_order_cancelled(hub, registered):
    [order] = services.generate_orders(registered, 1, seed=3)

    cancelled = services.cancel_order(registered, order.order_id, send_events=True)

    assert cancelled.status == "CANCELLED"
    assert {line["status"] for line in cancelled.payload["lines"]} == {"CANCELLED"}
    [body] = _posted(hub)
    assert body["type"] == "order.cancelled"
    assert body["data"]["status"] == "CANCELLED"


def test_cancel_line_sends_order_updated(hub, registered):
    order = two_line_order(registered)

    updated = services.cancel_line(registered, order.order_id, "1", send_events=True)

    [body] = _posted(hub)
    assert body["type"] == "order.updated"
    assert body["data"]["lines"][0]["status"] == "CANCELLED"
    assert body["data"]["lines"][1]["status"] == "OPEN"
    assert updated.status == "NEW"


def test_cancel_last_open_line_sends_order_cancelled(hub, registered):
    [order] = services.generate_orders(registered, 1, seed=3)
    for line in order.payload["lines"][:-1]:
        services.cancel_line(registered, order.order_id, line["id"])

    updated = services.cancel_line(
        registered, order.order_id, order.payload["lines"][-1]["id"], send_events=True
    )

    assert updated.status == "CANCELLED"
    assert _posted(hub)[-1]["type"] == "order.cancelled"


def test_cancel_line_recomputes_totals(registered):
    order = two_line_order(registered)
    assert order.payload["totals"] == {
        "subtotal": "29.97",
        "shipping": "3.99",
        "total": "33.96",
    }

    services.cancel_line(registered, order.order_id, "1")

    order.refresh_from_db()
    assert order.payload["totals"] == {
        "subtotal": "9.99",
        "shipping": "3.99",
        "total": "13.98",
    }


def test_cancel_dispatched_order_raises(registered, api):
    [order] = services.generate_orders(registered, 1, seed=3)
    line = order.payload["lines"][0]
    api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": "FUL-1",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "DPD",
            "lines": [{"line_id": line["id"], "quantity": 1}],
        },
    )

    with pytest.raises(SandboxError, match="dispatched lines"):
        services.cancel_order(registered, order.order_id)

    order.refresh_from_db()
    assert order.status != "CANCELLED"


def test_return_events(hub, registered, api):
    [order] = services.generate_orders(registered, 1, seed=3)
    line = order.payload["lines"][0]
    api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": "FUL-1",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "DPD",
            "lines": [{"line_id": line["id"], "quantity": line["quantity"]}],
        },
    )

    record = services.create_return(
        registered, order.order_id, [(line["id"], 1)], send_events=True
    )
    services.update_return_status(
        registered, record.return_id, "APPROVED", send_events=True
    )

    posted = _posted(hub)
    assert [body["type"] for body in posted] == ["return.created", "return.updated"]
    assert posted[0]["data"]["id"] == record.return_id
    assert posted[0]["data"]["status"] == "REQUESTED"
    assert posted[1]["data"]["status"] == "APPROVED"


def test_resend_unacknowledged_orders(hub, registered, api):
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    stale, acknowledged = services.generate_orders(
        registered, 2, seed=3, created_at=two_hours_ago
    )
    services.generate_orders(registered, 1, seed=4)
    api.post(f"/orders/{acknowledged.order_id}/acknowledgement")
    original = SandboxEvent.objects.get(order=stale, event_type="order.created")

    deliveries = services.resend_unacknowledged_orders(registered)

    [body] = _posted(hub)
    assert body["id"] == original.event_id
    assert body["data"]["id"] == stale.order_id
    assert len(deliveries) == 1


def test_build_order_event_rejects_unknown_type(account):
    [order] = services.generate_orders(account, 1, seed=3)

    with pytest.raises(ValueError, match="Unknown order event type"):
        services.build_order_event(order, "order.shipped")

    assert SandboxEvent.objects.filter(event_type="order.shipped").count() == 0
