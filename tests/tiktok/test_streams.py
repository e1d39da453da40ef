"""TikTok streams, webhook processing and the shipment handler, against
recorded TikTok responses (``responses``) and the real domain services."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from django.utils import timezone

from catalog.models import ChannelListing, Product
from connectors.events import process_event
from connectors.inbound import store_event
from connectors.models import Connector, InboundEvent, OutboxMessage, SyncState
from connectors.sync import run_stream
from connectors.tiktok.models import CarrierMapping, ShippedPackage
from connectors.tiktok.streams import OVERLAP
from inventory.models import ExternalLocation, InventorySnapshot, Location, StockLevel
from orders.models import (
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderException,
    Return,
)

from .conftest import API_URL

PAGE_TOKEN = "+/+/6AsPQsUMvH3RkchNUPPh22NRO/N5M1kHYcZ+7D1ud64MPNz5OaT"
WAREHOUSE_A = "7068517275539719942"
WAREHOUSE_B = "7068517275539719943"


def _envelope(data):
    return {"code": 0, "message": "Success", "request_id": "1", "data": data}


def _query(request) -> dict:
    return dict(parse_qsl(urlsplit(request.url).query))


def _order(order_id, *, status="AWAITING_SHIPMENT", update_time=1750000000, items=2):
    return {
        "id": order_id,
        "status": status,
        "create_time": update_time - 3600,
        "update_time": update_time,
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "delivery_option_id": "7091146663229654785",
        "warehouse_id": WAREHOUSE_A,
        "payment": {
            "currency": "GBP",
            "sub_total": "9.00",
            "shipping_fee": "0",
            "total_amount": "9.00",
        },
        "recipient_address": {
            "name": "Kim Lee",
            "address_line1": "1 High St",
            "postal_code": "LS1 4AP",
            "region_code": "GB",
        },
        "line_items": [
            {
                "id": f"{order_id}{n}",
                "sku_id": "1729592969712207012",
                "seller_sku": "SOCK-RED",
                "product_name": "Socks",
                "sale_price": "4.50",
                "display_status": status,
                "package_status": "TO_FULFILL",
            }
            for n in range(items)
        ],
    }


# Webhook processing -------------------------------------------------------


def _event(connector, payload) -> InboundEvent:
    body = json.dumps(payload).encode()
    event, _ = store_event(
        connector, str(payload.get("tts_notification_id")), "x", body
    )
    return event


def test_event_deauthorization_needs_reauthorization(connector):
    event = _event(
        connector,
        {
            "type": 6,
            "tts_notification_id": "1",
            "shop_id": connector.tiktok_shop_id,
            "data": {"message": "seller revoked"},
        },
    )

    process_event(event.pk)

    connector.refresh_from_db()
    event.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_REAUTHORIZATION
    assert "seller revoked" in connector.status_detail
    assert event.status == InboundEvent.Status.PROCESSED


def test_event_authorization_expiring_warns_only(connector):
    event = _event(
        connector,
        {
            "type": 7,
            "tts_notification_id": "2",
            "shop_id": connector.tiktok_shop_id,
            "data": {"message": "renew", "expiration_time": "1760000000"},
        },
    )

    process_event(event.pk)

    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED
    assert connector.status_detail.startswith(
        "Warning: the TikTok Shop authorization expires on 2025-10-09 08:53 UTC."
    )


def test_event_other_shop_ignored(connector):
    event = _event(
        connector, {"type": 6, "tts_notification_id": "3", "shop_id": "123", "data": {}}
    )

    process_event(event.pk)

    event.refresh_from_db()
    connector.refresh_from_db()
    assert event.status == InboundEvent.Status.IGNORED
    assert connector.status == Connector.Status.CONNECTED


def test_event_unhandled_type_ignored(connector):
    event = _event(
        connector,
        {
            "type": 5,
            "tts_notification_id": "4",
            "shop_id": connector.tiktok_shop_id,
            "data": {},
        },
    )

    process_event(event.pk)

    event.refresh_from_db()
    assert event.status == InboundEvent.Status.IGNORED


@responses.activate
def test_event_order_status_fetches_order(connector):
    responses.get(
        f"{API_URL}/order/202309/orders",
        json=_envelope({"orders": [_order("576000000000000001")]}),
    )
    event = _event(
        connector,
        {
            "type": 1,
            "tts_notification_id": "5",
            "shop_id": connector.tiktok_shop_id,
            "data": {"order_id": "576000000000000001"},
        },
    )

    process_event(event.pk)

    assert _query(responses.calls[0].request)["ids"] == "576000000000000001"
    order = Order.objects.get(connector=connector)
    assert order.external_id == "576000000000000001"
    assert order.channel_status == "AWAITING_SHIPMENT"
    assert order.lines.get().quantity == 2
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED


@responses.activate
def test_event_fetch_failure_keeps_event_for_replay(connector):
    responses.get(
        f"{API_URL}/order/202309/orders",
        json={"code": 36009003, "message": "Internal error", "data": None},
    )
    event = _event(
        connector,
        {
            "type": 1,
            "tts_notification_id": "6",
            "shop_id": connector.tiktok_shop_id,
            "data": {"order_id": "576000000000000001"},
        },
    )

    process_event(event.pk)

    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert "36009003" in event.error
    assert Order.objects.count() == 0


# Orders pull ----------------------------------------------------------------


@responses.activate
def test_pull_orders_pages_and_moves_cursor(connector):
    url = f"{API_URL}/order/202309/orders/search"
    responses.post(
        url,
        json=_envelope(
            {
                "orders": [_order("576000000000000001", update_time=1750000000)],
                "next_page_token": PAGE_TOKEN,
                "total_count": 2,
            }
        ),
    )
    responses.post(
        url,
        json=_envelope(
            {
                "orders": [_order("576000000000000002", update_time=1750000500)],
                "next_page_token": "",
                "total_count": 2,
            }
        ),
    )
    before = timezone.now()

    run = run_stream(connector, "orders", "command")

    assert run.status == "succeeded", run.error
    assert (run.fetched, run.created) == (2, 2)
    first, second = (_query(call.request) for call in responses.calls)
    assert "page_token" not in first
    assert second["page_token"] == PAGE_TOKEN
    assert first["sort_field"] == "update_time"
    assert first["sort_order"] == "ASC"
    body = json.loads(responses.calls[0].request.body)
    assert body == json.loads(responses.calls[1].request.body)
    state = SyncState.objects.get(connector=connector, stream="orders")
    assert state.cursor_time >= before.replace(microsecond=0)
    assert Order.objects.filter(connector=connector).count() == 2


@responses.activate
def test_pull_orders_starts_overlap_before_cursor(connector):
    cursor = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    SyncState.objects.create(connector=connector, stream="orders", cursor_time=cursor)
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json=_envelope({"orders": [], "next_page_token": ""}),
    )

    run_stream(connector, "orders", "command")

    body = json.loads(responses.calls[0].request.body)
    assert body["update_time_ge"] == int((cursor - OVERLAP).timestamp())
    assert body["update_time_lt"] > body["update_time_ge"]


@responses.activate
def test_pull_orders_unchanged_on_second_pull(connector):
    url = f"{API_URL}/order/202309/orders/search"
    page = _envelope({"orders": [_order("576000000000000001")], "next_page_token": ""})
    responses.post(url, json=page)
    responses.post(url, json=page)

    run_stream(connector, "orders", "command")
    second = run_stream(connector, "orders", "command")

    assert (second.created, second.unchanged) == (0, 1)
    assert Order.objects.count() == 1


@responses.activate
def test_pull_orders_failure_keeps_cursor(connector):
    cursor = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    SyncState.objects.create(connector=connector, stream="orders", cursor_time=cursor)
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json={"code": 36009002, "message": "Too many requests"},
        status=429,
    )

    run = run_stream(connector, "orders", "command")

    assert run.status == "failed"
    assert "36009002" in run.error
    state = SyncState.objects.get(connector=connector, stream="orders")
    assert state.cursor_time == cursor


@responses.activate
def test_pull_orders_fulfilled_by_tiktok(connector):
    order = _order("576000000000000009")
    order["fulfillment_type"] = "FULFILLMENT_BY_TIKTOK"
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json=_envelope({"orders": [order], "next_page_token": ""}),
    )

    run_stream(connector, "orders", "command")

    stored = Order.objects.get()
    assert stored.fulfilled_by_channel is True


# Returns ----------------------------------------------------------------------


@responses.activate
def test_pull_returns_upserts_return(connector):
    responses.post(
        f"{API_URL}/order/202309/orders/search",
        json=_envelope(
            {
                "orders": [_order("576000000000000001", status="DELIVERED")],
                "next_page_token": "",
            }
        ),
    )
    responses.post(
        f"{API_URL}/return_refund/202309/returns/search",
        json=_envelope(
            {
                "return_orders": [
                    {
                        "return_id": "4035000000000000001",
                        "order_id": "576000000000000001",
                        "return_status": "AWAITING_BUYER_SHIP",
                        "return_type": "RETURN_AND_REFUND",
                        "return_reason_text": "Damaged item",
                        "create_time": 1750000600,
                        "update_time": 1750000700,
                        "return_line_items": [
                            {
                                "return_line_item_id": "1",
                                "order_line_item_id": "5760000000000000010",
                                "sku_id": "1729592969712207012",
                                "seller_sku": "SOCK-RED",
                            }
                        ],
                    }
                ],
                "next_page_token": "",
                "total_count": 1,
            }
        ),
    )
    run_stream(connector, "orders", "command")

    run = run_stream(connector, "returns", "command")

    assert run.status == "succeeded", run.error
    stored = Return.objects.get()
    assert stored.external_id == "4035000000000000001"
    assert stored.channel_status == "AWAITING_BUYER_SHIP"
    assert stored.lines.get().quantity == 1
    assert _query(responses.calls[1].request)["page_size"] == "50"


# Inventory ----------------------------------------------------------------


@pytest.fixture
def stocked(connector):
    product = Product.objects.create(sku="SOCK-RED", name="Socks")
    ChannelListing.objects.create(
        product=product,
        connector=connector,
        channel_product_id="1729592969712207008",
        channel_sku_id="1729592969712207013",
    )
    leeds = Location.objects.create(name="Leeds", code="leeds")
    york = Location.objects.create(name="York", code="york")
    ExternalLocation.objects.create(
        location=leeds, connector=connector, external_id=WAREHOUSE_A
    )
    ExternalLocation.objects.create(
        location=york,
        connector=connector,
        external_id=WAREHOUSE_B,
        counts_in_totals=False,
    )
    StockLevel.objects.create(product=product, location=leeds, on_hand=12, committed=2)
    StockLevel.objects.create(product=product, location=york, on_hand=30)
    return product


@responses.activate
def test_push_inventory_per_sku_and_warehouse(connector, stocked):
    responses.post(
        f"{API_URL}/product/202309/products/1729592969712207008/inventory/update",
        json=_envelope({}),
    )

    run = run_stream(connector, "inventory", "command", force=True)

    assert run.status == "succeeded", run.error
    assert json.loads(responses.calls[0].request.body) == {
        "skus": [
            {
                "id": "1729592969712207013",
                "inventory": [
                    {"warehouse_id": WAREHOUSE_A, "quantity": 10},
                    {"warehouse_id": WAREHOUSE_B, "quantity": 0},
                ],
            }
        ]
    }
    snapshot = InventorySnapshot.objects.get(connector=connector, product=stocked)
    assert snapshot.accepted_quantity == 10
    assert snapshot.last_status == "accepted"
    assert run.updated == 1


@responses.activate
def test_push_inventory_partial_failure_recorded(connector, stocked, sample):
    answer = sample("product_202309_inventory_update")
    answer["data"]["errors"][0]["detail"]["extra_errors"][0]["warehouse_id"] = (
        WAREHOUSE_B
    )
    responses.post(
        f"{API_URL}/product/202309/products/1729592969712207008/inventory/update",
        json=answer,
    )

    run = run_stream(connector, "inventory", "command", force=True)

    snapshot = InventorySnapshot.objects.get(connector=connector, product=stocked)
    assert snapshot.accepted_quantity is None
    assert snapshot.last_status == "rejected"
    assert "12052097: The warehouse does not exist" in snapshot.last_error
    assert run.failed == 1


def test_push_inventory_without_links_sends_nothing(connector):
    with responses.RequestsMock() as mock_http:
        run = run_stream(connector, "inventory", "command", force=True)

    assert len(mock_http.calls) == 0
    assert "No hub location is linked" in run.error


# Fulfillments -----------------------------------------------------------------


@pytest.fixture
def fulfillment(connector):
    raw = _order("576000000000000001", items=3)
    order = Order.objects.create(
        connector=connector,
        external_id=raw["id"],
        channel_status="AWAITING_SHIPMENT",
        placed_at=timezone.now() - timedelta(hours=1),
        channel_updated_at=timezone.now(),
        raw=raw,
    )
    line = order.lines.create(
        external_id="1729592969712207012", quantity=3, seller_sku="SOCK-RED"
    )
    location = Location.objects.create(name="Leeds", code="leeds")
    shipped = Fulfillment.objects.create(
        order=order,
        location=location,
        carrier="royal mail",
        tracking_number="JX123",
        shipped_at=timezone.now(),
    )
    FulfillmentLine.objects.create(fulfillment=shipped, line=line, quantity=2)
    OutboxMessage.objects.create(
        connector=connector,
        kind=OutboxMessage.Kind.DISPATCH,
        reference=shipped.reference,
        payload={
            "fulfillment_id": shipped.pk,
            "order_id": order.external_id,
            "warehouse_id": "",
        },
    )
    return shipped


def _providers():
    return _envelope(
        {
            "shipping_providers": [
                {"id": "6617675021119438849", "name": "Royal Mail"},
                {"id": "6617675021119438850", "name": "DPD"},
            ]
        }
    )


@responses.activate
def test_push_fulfillment_marks_package_shipped(connector, fulfillment):
    responses.get(
        f"{API_URL}/logistics/202309/delivery_options/7091146663229654785"
        "/shipping_providers",
        json=_providers(),
    )
    responses.post(
        f"{API_URL}/fulfillment/202309/orders/576000000000000001/packages",
        json=_envelope(
            {
                "order_id": "576000000000000001",
                "package_id": "1152",
                "order_line_item_ids": ["5760000000000000010", "5760000000000000011"],
            }
        ),
    )

    run = run_stream(connector, "fulfillments", "command")

    assert run.status == "succeeded", run.error
    assert json.loads(responses.calls[1].request.body) == {
        "tracking_number": "JX123",
        "shipping_provider_id": "6617675021119438849",
        "order_line_item_ids": ["5760000000000000010", "5760000000000000011"],
    }
    fulfillment.refresh_from_db()
    assert fulfillment.delivery == Fulfillment.Delivery.SENT
    assert fulfillment.external_id == "1152"
    package = ShippedPackage.objects.get(fulfillment=fulfillment)
    assert package.order_line_item_ids == ["5760000000000000010", "5760000000000000011"]


@responses.activate
def test_push_fulfillment_uses_carrier_mapping(connector, fulfillment):
    CarrierMapping.objects.create(
        connector=connector, carrier="Royal Mail", shipping_provider_id="555"
    )
    responses.post(
        f"{API_URL}/fulfillment/202309/orders/576000000000000001/packages",
        json=_envelope({"package_id": "1153"}),
    )

    run_stream(connector, "fulfillments", "command")

    assert len(responses.calls) == 1
    assert json.loads(responses.calls[0].request.body)["shipping_provider_id"] == "555"


@responses.activate
def test_push_fulfillment_unknown_carrier_rejected(connector, fulfillment):
    fulfillment.carrier = "Pigeon Post"
    fulfillment.save()
    responses.get(
        f"{API_URL}/logistics/202309/delivery_options/7091146663229654785"
        "/shipping_providers",
        json=_providers(),
    )

    run_stream(connector, "fulfillments", "command")

    fulfillment.refresh_from_db()
    assert fulfillment.delivery == Fulfillment.Delivery.REJECTED
    assert "Pigeon Post" in fulfillment.channel_error
    assert "Royal Mail, DPD" in fulfillment.channel_error
    assert OrderException.objects.get().kind == OrderException.Kind.CHANNEL_REJECTED
    assert len(responses.calls) == 1
    assert ShippedPackage.objects.count() == 0
