"""The busy changelists run as many queries for 500 rows as for 10, and
offer the filters, autocomplete fields and date hierarchy staff need."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import ChannelListing, IdentifierMapping, Product
from connectors.models import Connector, InboundEvent, SyncRun
from inventory.models import Location, StockLevel, StockMovement
from orders.models import Order, OrderException, OrderLine, Return

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    thg = Connector.objects.create(kind="thg", name="THG list")
    location = Location.objects.create(name="Leeds", code="leeds")
    return thg, location


def _add_rows(world, start, count):
    thg, location = world
    now = timezone.now()
    parents = Product.objects.bulk_create(
        Product(sku=f"P-{i}", name=f"Parent {i}") for i in range(start, start + count)
    )
    products = Product.objects.bulk_create(
        Product(sku=f"V-{i}", name=f"Variant {i}", parent=parent)
        for i, parent in zip(range(start, start + count), parents, strict=True)
    )
    ChannelListing.objects.bulk_create(
        ChannelListing(product=product, connector=thg, channel_sku=f"C-{product.sku}")
        for product in products
    )
    StockLevel.objects.bulk_create(
        StockLevel(product=product, location=location, on_hand=5)
        for product in products
    )
    orders = Order.objects.bulk_create(
        Order(
            connector=thg,
            external_id=f"O-{i}",
            channel_status="NEW",
            placed_at=now - timedelta(minutes=i),
            channel_updated_at=now,
            location=location,
        )
        for i in range(start, start + count)
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(order=order, external_id="1", quantity=1, product=product)
        for order, product in zip(orders, products, strict=True)
    )
    OrderException.objects.bulk_create(
        OrderException(
            order=line.order, line=line, kind="unmatched_line", message="no match"
        )
        for line in lines
    )
    SyncRun.objects.bulk_create(
        SyncRun(connector=thg, stream="orders", trigger="schedule", status="failed")
        for _ in range(count)
    )
    InboundEvent.objects.bulk_create(
        InboundEvent(connector=thg, external_id=f"E-{i}", event_type="x", body="{}")
        for i in range(start, start + count)
    )


CHANGELISTS = [
    "orders_order",
    "orders_orderline",
    "orders_orderexception",
    "catalog_product",
    "catalog_channellisting",
    "inventory_stocklevel",
    "connectors_syncrun",
    "connectors_inboundevent",
]


def _queries(client, name) -> int:
    url = reverse(f"admin:{name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelist_queries_do_not_grow(admin_client, world, name):
    _add_rows(world, 0, 10)
    at_10 = _queries(admin_client, name)
    _add_rows(world, 10, 490)

    at_500 = _queries(admin_client, name)

    assert at_500 == at_10


def test_order_list_filters_and_date_hierarchy():
    model_admin = admin.site._registry[Order]

    filters = [
        f if isinstance(f, str) else f.parameter_name for f in model_admin.list_filter
    ]
    assert model_admin.date_hierarchy == "placed_at"
    assert filters == ["connector", "status", "exception", "location"]


def test_filters_of_lists():
    def names(model):
        return [
            f if isinstance(f, str) else getattr(f, "parameter_name", f[0])
            for f in admin.site._registry[model].list_filter
        ]

    assert "order__connector" in names(OrderLine)
    assert "kind" in names(OrderException)
    assert "connector" in names(ChannelListing)
    assert "location" in names(StockLevel)
    assert "location" in names(StockMovement)
    assert "connector" in names(SyncRun)
    assert "status" in names(SyncRun)
    assert "connector" in names(InboundEvent)


def test_open_exception_filter_by_kind(admin_client, world):
    _add_rows(world, 0, 3)
    OrderException.objects.filter(order__external_id="O-0").update(
        resolved_at=timezone.now()
    )

    response = admin_client.get(
        reverse("admin:orders_order_changelist") + "?exception=unmatched_line"
    )

    assert response.context["cl"].result_count == 2


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (ChannelListing, {"product", "connector"}),
        (IdentifierMapping, {"product"}),
        (StockLevel, {"product", "location"}),
        (OrderLine, {"order", "product"}),
        (Return, {"order", "location"}),
        (Order, {"location"}),
        (Product, {"parent"}),
    ],
)
def test_foreign_keys_use_autocomplete(model, fields):
    assert set(admin.site._registry[model].autocomplete_fields) >= fields


def test_product_autocomplete_answers(admin_client, world):
    _add_rows(world, 0, 3)

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "V-1",
            "app_label": "catalog",
            "model_name": "channellisting",
            "field_name": "product",
        },
    )

    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["V-1 (Variant 1)"]
