import base64
import json

import pytest

from connectors.models import Connector, InboundEvent

pytestmark = pytest.mark.django_db

ORDER = {
    "id": "100245871",
    "reference": "THG-100245871",
    "status": "NEW",
    "created_at": "2026-11-30T10:15:00Z",
    "updated_at": "2026-11-30T10:15:00Z",
    "currency": "GBP",
    "customer": {"name": "A. Buyer", "email": "buyer@example.test"},
    "shipping_address": {"postcode": "LS1 4AP", "country_code": "GB"},
    "lines": [
        {"id": "1", "upc": "5012345678900", "quantity": 2, "status": "OPEN"},
    ],
    "totals": {"subtotal": "19.98", "shipping": "3.99", "total": "23.97"},
}


@pytest.fixture
def connector():
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="THG events",
        inbound_username="thg",
        status=Connector.Status.AWAITING_ACTIVATION,
    )
    connector.set_inbound_password("correct horse battery")
    connector.save()
    return connector


def basic(username, password):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Post an event and run what the view queued on commit, as a worker would."""

    def send(client, connector, body, auth=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/integrations/thg/{connector.key}/events",
                data=body if isinstance(body, bytes | str) else json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=auth or basic("thg", "correct horse battery"),
            )

    return send


def test_missing_credentials_are_refused(client, connector, post):
    response = client.post(
        f"/integrations/thg/{connector.key}/events",
        data="{}",
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert InboundEvent.objects.count() == 0


def test_wrong_password_is_refused(client, connector, post):
    response = post(
        client, connector, {"id": "e1", "type": "x"}, auth=basic("thg", "wrong")
    )

    assert response.status_code == 401
    assert InboundEvent.objects.count() == 0


def test_wrong_username_is_refused(client, connector, post):
    response = post(
        client,
        connector,
        {"id": "e1", "type": "x"},
        auth=basic("other", "correct horse battery"),
    )

    assert response.status_code == 401


def test_body_over_one_megabyte_is_refused(client, connector, post):
    body = json.dumps({"id": "e1", "type": "x", "pad": "x" * (1024 * 1024)})

    response = post(client, connector, body)

    assert response.status_code == 413
    assert InboundEvent.objects.count() == 0


def test_body_that_is_not_an_event_is_refused(client, connector, post):
    response = post(client, connector, "not json")

    assert response.status_code == 400
    assert InboundEvent.objects.count() == 0


def test_event_is_stored_once_by_id(client, connector, post):
    event = {"id": "evt_1", "type": "connection.activated", "occurred_at": "x"}

    first = post(client, connector, event)
    second = post(client, connector, event)

    assert first.status_code == 202
    assert second.status_code == 200
    assert InboundEvent.objects.filter(external_id="evt_1").count() == 1


def test_activation_event_connects(client, connector, post):
    post(client, connector, {"id": "evt_2", "type": "connection.activated"})

    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED
    event = InboundEvent.objects.get(external_id="evt_2")
    assert event.status == InboundEvent.Status.PROCESSED


def test_unknown_event_type_is_ignored(client, connector, post):
    post(client, connector, {"id": "evt_3", "type": "catalog.changed", "data": {}})

    event = InboundEvent.objects.get(external_id="evt_3")
    assert event.status == InboundEvent.Status.IGNORED


def test_order_event_creates_the_order(client, connector, post):
    from orders.models import Order

    post(client, connector, {"id": "evt_4", "type": "order.created", "data": ORDER})

    order = Order.objects.get(connector=connector, external_id="100245871")
    assert order.channel_status == "NEW"
    assert order.lines.get().quantity == 2


def test_older_order_event_changes_nothing(client, connector, post):
    from orders.models import Order

    newer = {**ORDER, "status": "CANCELLED", "updated_at": "2026-11-30T11:00:00Z"}
    post(client, connector, {"id": "evt_5", "type": "order.cancelled", "data": newer})

    post(client, connector, {"id": "evt_6", "type": "order.created", "data": ORDER})

    order = Order.objects.get(connector=connector, external_id="100245871")
    assert order.channel_status == "CANCELLED"
    assert order.status == Order.Status.CANCELLED


def test_failed_event_is_kept_for_replay(client, connector, post):
    from connectors.events import replay

    broken = {"id": "evt_7", "type": "order.created", "data": {"id": "1"}}
    post(client, connector, broken)

    event = InboundEvent.objects.get(external_id="evt_7")
    assert event.status == InboundEvent.Status.FAILED
    assert "KeyError" in event.error
    assert replay(InboundEvent.objects.filter(pk=event.pk)) == 1
