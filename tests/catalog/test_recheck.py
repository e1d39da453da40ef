"""Exceptions that clear themselves once a mapping fixes the line."""

import logging
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.mapping_import import import_file
from catalog.models import ChannelListing, IdentifierMapping
from connectors.models import Connector
from orders.models import Order, OrderException
from orders.recheck import check_again, check_again_action

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")


@pytest.fixture
def routed(monkeypatch):
    """Replace routing with a recorder of the orders it is given."""
    import orders.routing

    calls = []
    monkeypatch.setattr(
        orders.routing, "route_order", lambda order: calls.append(order.pk)
    )
    return calls


@pytest.fixture
def thg_c():
    return f.connector(name="THG C", strategy="C")


def open_exceptions(order):
    return OrderException.objects.filter(order=order, resolved_at__isnull=True)


def test_check_again_resolves_fixed_line(thg_c, routed):
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    line = f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )

    result = check_again(Order.objects.filter(pk=order.pk))

    line.refresh_from_db()
    order.refresh_from_db()
    assert line.product_id == mug.pk
    assert open_exceptions(order).count() == 0
    assert OrderException.objects.get().resolved_at is not None
    assert order.status == Order.Status.NEW
    assert routed == [order.pk]
    assert (result.lines_matched, result.exceptions_resolved) == (1, 1)
    assert result.released_order_ids == [order.pk]
    assert result.orders_routed == 1


def test_check_again_keeps_unfixed_exception(thg_c, routed):
    order = f.order(thg_c)
    line = f.unmatched_line(order, upc=UPC_A)

    result = check_again([order])

    line.refresh_from_db()
    order.refresh_from_db()
    assert line.product_id is None
    assert open_exceptions(order).count() == 1
    assert order.status == Order.Status.NEEDS_ATTENTION
    assert routed == []
    assert result.exceptions_resolved == 0


def test_check_again_other_exception_open(thg_c, routed):
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    OrderException.objects.create(
        order=order, kind=OrderException.Kind.INVALID_ADDRESS, message="No city."
    )
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )

    result = check_again([order])

    order.refresh_from_db()
    assert result.exceptions_resolved == 1
    assert order.status == Order.Status.NEEDS_ATTENTION
    assert open_exceptions(order).get().kind == OrderException.Kind.INVALID_ADDRESS
    assert routed == []


def test_check_again_twice_changes_nothing_more(thg_c, routed):
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )
    check_again([order])

    result = check_again([order])

    assert (result.lines_matched, result.exceptions_resolved) == (0, 0)
    assert result.released_order_ids == []
    assert routed == [order.pk]


def test_check_again_skips_routing_when_unavailable(thg_c, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "orders.routing", None)
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )

    with caplog.at_level(logging.INFO, logger="orders.recheck"):
        result = check_again([order])

    order.refresh_from_db()
    assert order.status == Order.Status.NEW
    assert result.routing_skipped is True
    assert result.orders_routed == 0
    assert any("routing was skipped" in message for message in caplog.messages)


def test_check_again_routing_failure_is_counted(thg_c, monkeypatch):
    import orders.routing

    def fail(order):
        raise RuntimeError("no rule")

    monkeypatch.setattr(orders.routing, "route_order", fail)
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )

    result = check_again([order])

    assert result.routing_failed == 1
    assert result.orders_routed == 0
    assert Order.objects.get().status == Order.Status.NEW


def test_check_again_constant_queries(thg_c, routed):
    tiktok = f.connector(name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="A")
    f.product("MUG-BLUE")

    def orders_with_lines(prefix, count):
        result = []
        for index in range(count):
            order = f.order(thg_c, f"{prefix}-C-{index}")
            f.unmatched_line(order, upc=UPC_A)
            other = f.order(tiktok, f"{prefix}-T-{index}")
            f.unmatched_line(other, seller_sku="MUG-BLUE")
            result += [order.pk, other.pk]
        return Order.objects.filter(pk__in=result)

    few, many = orders_with_lines("few", 1), orders_with_lines("many", 20)
    with CaptureQueriesContext(connection) as small:
        check_again(few)
    with CaptureQueriesContext(connection) as large:
        check_again(many)

    # Routing is a recorder here, so only check_again's own queries count;
    # the line updates are one bulk statement per batch.
    assert len(large.captured_queries) == len(small.captured_queries)
    assert OrderException.objects.filter(resolved_at__isnull=True).count() == 21


def test_check_again_accepts_exception_queryset(thg_c, routed):
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )

    result = check_again(OrderException.objects.all())

    assert result.orders_checked == 1
    assert result.exceptions_resolved == 1


class RecordingAdmin:
    def __init__(self):
        self.messages = []

    def message_user(self, request, message, level):
        self.messages.append((level, message))


def test_check_again_action_reports_counts(thg_c, routed, rf):
    from django.contrib import messages

    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )
    modeladmin = RecordingAdmin()

    check_again_action(modeladmin, rf.post("/"), Order.objects.all())

    assert modeladmin.messages == [
        (
            messages.SUCCESS,
            "Checked 1 orders: 1 lines now match, 1 exceptions resolved, 1 "
            "orders back to new, 1 routed.",
        )
    ]
    assert check_again_action.allowed_permissions == ["change"]
    assert check_again_action.short_description == "Check exceptions again"


def test_mapping_import_clears_exceptions(
    thg_c, routed, django_capture_on_commit_callbacks
):
    f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)

    with django_capture_on_commit_callbacks(execute=True):
        import_file(thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"))

    order.refresh_from_db()
    assert open_exceptions(order).count() == 0
    assert order.status == Order.Status.NEW
    assert routed == [order.pk]


def test_mapping_import_dry_run_leaves_exceptions(
    thg_c, routed, django_capture_on_commit_callbacks
):
    f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        import_file(thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"), dry_run=True)

    assert callbacks == []
    assert open_exceptions(order).count() == 1


def test_admin_mapping_save_clears_exceptions(
    admin_client, thg_c, routed, django_capture_on_commit_callbacks
):
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c)
    f.unmatched_line(order, upc=UPC_A)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_identifiermapping_add"),
            {"connector": thg_c.pk, "channel_identifier": UPC_A, "product": mug.pk},
        )

    assert response.status_code == 302
    assert IdentifierMapping.objects.get().channel_identifier == "0" + UPC_A
    assert open_exceptions(order).count() == 0
    assert routed == [order.pk]


def test_admin_channel_option_save_clears_exceptions(
    admin_client, routed, django_capture_on_commit_callbacks
):
    thg_b = f.connector(name="THG B", strategy="B")
    mug = f.product("MUG-BLUE")
    order = f.order(thg_b)
    f.unmatched_line(order, upc=UPC_A)
    data = {
        "sku": "MUG-BLUE",
        "name": mug.name,
        "upc": "",
        "parent": "",
        "safety_stock": "",
        "active": "on",
        "listings-TOTAL_FORMS": "1",
        "listings-INITIAL_FORMS": "0",
        "listings-MIN_NUM_FORMS": "0",
        "listings-MAX_NUM_FORMS": "1",
        "listings-0-id": "",
        "listings-0-product": mug.pk,
        "listings-0-connector": thg_b.pk,
        "listings-0-channel_sku": UPC_A,
        "listings-0-active": "on",
        "listings-2-TOTAL_FORMS": "0",
        "listings-2-INITIAL_FORMS": "0",
        "listings-2-MIN_NUM_FORMS": "0",
        "listings-2-MAX_NUM_FORMS": "0",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_product_change", args=[mug.pk]), data
        )

    assert response.status_code == 302
    assert ChannelListing.objects.get().channel_sku == "0" + UPC_A
    assert open_exceptions(order).count() == 0
    assert routed == [order.pk]


def test_admin_new_product_clears_tiktok_exception(
    admin_client, routed, django_capture_on_commit_callbacks
):
    tiktok = f.connector(name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="A")
    order = f.order(tiktok)
    f.unmatched_line(order, seller_sku="MUG-GREEN")
    data = {
        "sku": "MUG-GREEN",
        "name": "Green mug",
        "upc": "",
        "parent": "",
        "safety_stock": "",
        "active": "on",
        "listings-TOTAL_FORMS": "0",
        "listings-INITIAL_FORMS": "0",
        "listings-MIN_NUM_FORMS": "0",
        "listings-MAX_NUM_FORMS": "0",
        "listings-2-TOTAL_FORMS": "0",
        "listings-2-INITIAL_FORMS": "0",
        "listings-2-MIN_NUM_FORMS": "0",
        "listings-2-MAX_NUM_FORMS": "1",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == 302
    assert open_exceptions(order).count() == 0
    assert routed == [order.pk]
