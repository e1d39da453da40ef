"""Admin actions on "select all" over many rows: they take the changelist's
queryset (no id per row in the form), and heavy ones are queued as tasks."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from connectors.models import Connector
from inventory.models import Location, StockLevel
from orders.models import Order, OrderException
from tests.inventory.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Capture async_task calls instead of running them."""
    calls = []

    def fake_async_task(func, *args, **kwargs):
        calls.append((func, args, kwargs))
        return f"task-{len(calls)}"

    monkeypatch.setattr("django_q.tasks.async_task", fake_async_task)
    return calls


@pytest.fixture
def many_orders():
    thg = Connector.objects.create(kind="thg", name="THG many")
    tiktok = Connector.objects.create(kind="tiktok_shop", name="TikTok many")
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            connector=thg if i % 4 else tiktok,
            external_id=f"O-{i}",
            channel_status="NEW",
            placed_at=now - timedelta(minutes=i),
            channel_updated_at=now,
        )
        for i in range(1200)
    )
    return thg, tiktok


def _select_all(client, url, action, **extra):
    # One row is ticked, as the changelist sends it, plus "select all".
    return client.post(
        url,
        {
            "action": action,
            "select_across": "1",
            "index": "0",
            "_selected_action": ["0"],
            **extra,
        },
    )


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_route_again_on_select_all_queues_every_order(
    admin_client, many_orders, queued
):
    thg, _ = many_orders
    url = reverse("admin:orders_order_changelist") + f"?connector__id__exact={thg.pk}"

    response = _select_all(admin_client, url, "route_again")

    assert response.status_code == 302
    assert len(queued) == 1
    func, (order_ids,), kwargs = queued[0]
    assert func == "orders.tasks.route_again"
    assert order_ids == sorted(
        Order.objects.filter(connector=thg).values_list("pk", flat=True)
    )
    assert len(order_ids) == 900
    assert kwargs["task_name"].startswith("route-again-")
    [message] = _messages(response)
    assert "Queued routing again for 900 orders" in message
    assert f"/admin/django_q/success/?q={kwargs['task_name']}" in message


def test_route_again_runs_nothing_in_the_request(admin_client, many_orders, queued):
    _select_all(admin_client, reverse("admin:orders_order_changelist"), "route_again")

    assert not Order.objects.exclude(status=Order.Status.NEW).exists()


def test_check_again_on_exceptions_queues_their_orders(
    admin_client, many_orders, queued
):
    thg, _ = many_orders
    orders = list(Order.objects.filter(connector=thg)[:300])
    OrderException.objects.bulk_create(
        OrderException(order=order, kind=kind, message="m")
        for order in orders
        for kind in ("unmatched_line", "no_stock")
    )
    url = reverse("admin:orders_orderexception_changelist") + "?kind__exact=no_stock"

    response = _select_all(admin_client, url, "check_again_queued")

    func, (order_ids,), kwargs = queued[0]
    assert func == "orders.recheck.check_again"
    assert order_ids == sorted(order.pk for order in orders)
    assert kwargs["task_name"].startswith("check-again-")
    assert "Queued a check of 300 orders again" in _messages(response)[0]


def test_backfill_on_select_all_sends_no_ids(admin_client, queued):
    connectors = Connector.objects.bulk_create(
        Connector(kind="thg", name=f"THG {i}", key=f"key-{i}") for i in range(40)
    )
    url = reverse("admin:connectors_connector_changelist")

    page = _select_all(admin_client, url, "backfill_orders")
    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    response = _select_all(
        admin_client, url, "backfill_orders", apply="1", since=since, until=""
    )

    assert page.status_code == 200
    assert 'name="select_across" value="1"' in page.text
    assert 'name="_selected_action"' not in page.text
    assert response.status_code == 302
    assert sorted(args[0] for _, args, _ in queued) == sorted(c.pk for c in connectors)
    assert all(args[1] == "backfill" for _, args, _ in queued)
    message = _messages(response)[0]
    assert "Queued 40 backfills on 40 connectors." in message
    assert reverse("admin:connectors_syncrun_changelist") in message


def test_force_resync_on_select_all(admin_client, many_orders, queued):
    response = _select_all(
        admin_client,
        reverse("admin:connectors_connector_changelist"),
        "force_inventory_resync",
    )

    assert {args[0] for _, args, _ in queued} == {c.pk for c in many_orders}
    assert all(kwargs["force"] is True for _, _, kwargs in queued)
    assert (
        "Queued 2 forced inventory resyncs on 2 connectors." in _messages(response)[0]
    )


def test_adjust_stock_on_select_all(admin_client):
    location = Location.objects.create(name="Leeds", code="leeds")
    products = [make_product(f"S-{i}") for i in range(120)]
    StockLevel.objects.bulk_create(
        StockLevel(product=product, location=location, on_hand=3)
        for product in products
    )
    url = reverse("admin:inventory_stocklevel_changelist")

    page = _select_all(admin_client, url, "adjust_stock")
    response = _select_all(
        admin_client, url, "adjust_stock", apply="1", on_hand_change="2", note="Count"
    )

    assert page.status_code == 200
    assert "each of the 120 stock levels selected" in page.text
    assert page.text.count("<tr><td>S-") == 50
    assert 'name="_selected_action"' not in page.text
    assert response.status_code == 302
    assert set(StockLevel.objects.values_list("on_hand", flat=True)) == {5}
