"""The admin index: connector state, streams, exceptions, today's orders and
the two-week chart, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.dashboard import CHART_DAYS, build_dashboard
from connectors.models import Connector, SyncRun, SyncState
from orders.models import Order, OrderException

pytestmark = pytest.mark.django_db


def _order(connector, external_id, placed_at):
    return Order.objects.create(
        connector=connector,
        external_id=external_id,
        channel_status="NEW",
        placed_at=placed_at,
        channel_updated_at=placed_at,
    )


@pytest.fixture
def busy():
    now = timezone.now()
    thg = Connector.objects.create(
        kind="thg",
        name="THG dash",
        status=Connector.Status.NEEDS_ATTENTION,
        status_detail="THG refused the client secret.",
    )
    tiktok = Connector.objects.create(
        kind="tiktok_shop", name="TikTok dash", status=Connector.Status.CONNECTED
    )
    SyncState.objects.create(
        connector=thg,
        stream="orders",
        last_success_at=now - timedelta(hours=2),
        last_failure_at=now - timedelta(minutes=5),
        last_error="401 client_secret=leaked-value",
    )
    first = _order(thg, "T-1", now)
    _order(thg, "T-2", now)
    _order(tiktok, "K-1", now)
    _order(thg, "OLD", now - timedelta(days=3))
    OrderException.objects.create(order=first, kind="no_stock", message="none")
    OrderException.objects.create(
        order=first, kind="unmatched_line", message="x", resolved_at=now
    )
    SyncRun.objects.create(
        connector=thg, stream="orders", trigger="schedule", status="failed"
    )
    return thg, tiktok


def test_dashboard_figures(busy):
    thg, tiktok = busy

    dashboard = build_dashboard()

    panels = {panel.connector.name: panel for panel in dashboard.connectors}
    assert dashboard.orders_today == 3
    assert panels["THG dash"].orders_today == 2
    assert panels["TikTok dash"].orders_today == 1
    assert dashboard.exceptions == [("No location can ship it", 1)]
    assert len(dashboard.days) == CHART_DAYS
    assert dashboard.days[-1].day == timezone.localdate()
    assert dashboard.days[-1].orders == 3
    assert dashboard.days[-1].failed_runs == 1
    assert dashboard.days[-4].orders == 1
    assert [state.stream for state in panels["THG dash"].streams] == ["orders"]


def test_dashboard_page(admin_client, busy):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert 'id="dashboard"' in response.text
    assert "Needs attention" in response.text
    assert "THG refused the client secret." in response.text
    assert "No location can ship it" in response.text
    assert "<svg" in response.text
    assert response.text.count('class="bar-orders"') == CHART_DAYS
    assert "leaked-value" not in response.text


def test_dashboard_queries_do_not_grow(admin_client, busy):
    thg, _ = busy
    with CaptureQueriesContext(connection) as few:
        admin_client.get(reverse("admin:index"))
    for n in range(30):
        connector = Connector.objects.create(kind="thg", name=f"More {n}")
        SyncState.objects.create(connector=connector, stream="orders")
        _order(connector, f"M-{n}", timezone.now())

    with CaptureQueriesContext(connection) as many:
        admin_client.get(reverse("admin:index"))

    assert len(many) == len(few)


def test_dashboard_shows_doctor_result_when_available(admin_client, busy):
    pytest.importorskip("connectors.doctor")
    from connectors.models import DoctorReport

    thg, _ = busy
    DoctorReport.objects.create(
        connector=thg,
        ran_at=timezone.now(),
        trigger="command",
        error_count=1,
        findings=[{"severity": "error", "title": "Token refused"}],
    )

    response = admin_client.get(reverse("admin:index"))

    assert "Doctor:" in response.text
    assert "Token refused" in response.text


def test_dashboard_hidden_without_connector_permission(client, django_user_model):
    user = django_user_model.objects.create_user("plain", password="pw", is_staff=True)
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert 'id="dashboard"' not in response.text


def test_dashboard_exceptions_link_lists_open_ones(admin_client, busy):
    response = admin_client.get(
        reverse("admin:orders_orderexception_changelist") + "?resolved_at__isnull=True"
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
