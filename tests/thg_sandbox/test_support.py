import pytest
import responses
from django.contrib.auth import get_user_model

from connectors.thg.sandbox import services
from connectors.thg.sandbox.models import (
    SandboxAccount,
    SandboxDispatch,
    SandboxEvent,
    SandboxOrder,
    SandboxReturn,
    SandboxStockUpdate,
)
from connectors.thg.sandbox.tasks import generate_demo_orders

from .conftest import two_line_order

SUPPORT = "/sandbox/thg/support/"
HUB_URL = "http://127.0.0.1:8000/integrations/thg/abc123/events"


def _action(account, action):
    return f"{SUPPORT}accounts/{account.pk}/{action}"


def test_support_page_lists_account(client, account):
    services.register_hub(account, HUB_URL, "thg-demo", "inbound-pass-123")

    response = client.get(SUPPORT)

    assert response.status_code == 200
    html = response.content.decode()
    assert "junction-test / hub-client" in html
    assert "s3cret-client-value" not in html
    assert "••••••ue" in html
    assert HUB_URL in html
    assert "thg-demo" in html
    assert "••••••23" in html
    assert "Activate connection" in html
    assert "Generate orders" in html
    assert "Send pending events" in html


def test_support_page_shows_received_data(client, api, account):
    order = two_line_order(account)
    api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": "FUL-77",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "Evri",
            "tracking_number": "H00TRACK77",
            "lines": [{"line_id": "1", "quantity": 2}],
        },
    )
    api.put("/stock", {"items": [{"upc": "5012345678900", "quantity": 5}]})
    api.post(
        "/returns",
        {
            "return_reference": "RET-88",
            "order_id": order.order_id,
            "lines": [{"line_id": "1", "quantity": 1}],
        },
    )

    html = client.get(SUPPORT).content.decode()

    assert "FUL-77" in html
    assert "H00TRACK77" in html
    assert "RET-88" in html
    assert SandboxStockUpdate.objects.count() == 1
    assert SandboxReturn.objects.get().return_id in html


def test_support_page_without_accounts(client, db):
    response = client.get(SUPPORT)

    assert response.status_code == 200
    assert "No accounts yet" in response.content.decode()


def test_support_activate(client, account):
    services.deactivate(account)

    response = client.post(_action(account, "activate"), follow=True)

    assert response.redirect_chain == [(SUPPORT, 302)]
    account.refresh_from_db()
    assert account.active is True
    assert "activated" in response.content.decode()
    assert SandboxEvent.objects.get().event_type == "connection.activated"


def test_support_generate_orders(client, account):
    response = client.post(
        _action(account, "generate-orders"), {"count": "4"}, follow=True
    )

    assert response.status_code == 200
    assert SandboxOrder.objects.filter(account=account).count() == 4
    assert "Generated 4 orders" in response.content.decode()


def test_support_generate_orders_bad_count(client, account):
    response = client.post(
        _action(account, "generate-orders"), {"count": "500"}, follow=True
    )

    assert "out of range" in response.content.decode()
    assert SandboxOrder.objects.count() == 0


def test_support_generate_returns(client, api, account):
    order = two_line_order(account)
    api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": "FUL-1",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "DPD",
            "lines": [{"line_id": "1", "quantity": 2}],
        },
    )

    response = client.post(
        _action(account, "generate-returns"), {"count": "3"}, follow=True
    )

    assert "Generated 1 of 3 returns" in response.content.decode()
    assert SandboxReturn.objects.count() == 1


def test_support_register_hub(client, account):
    response = client.post(
        _action(account, "register-hub"),
        {"events_url": HUB_URL, "username": "thg-demo", "password": "pw-123456"},
        follow=True,
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.hub_events_url == HUB_URL
    assert account.hub_username == "thg-demo"
    assert account.hub_password == "pw-123456"


def test_support_register_hub_missing_password(client, account):
    response = client.post(
        _action(account, "register-hub"),
        {"events_url": HUB_URL, "username": "thg-demo", "password": ""},
        follow=True,
    )

    assert "all required" in response.content.decode()
    account.refresh_from_db()
    assert account.hub_events_url == ""


@responses.activate
def test_support_send_pending_events(client, account):
    responses.add(responses.POST, HUB_URL, status=202)
    services.register_hub(account, HUB_URL, "thg-demo", "pw-123456")
    services.generate_orders(account, 2, seed=1)

    response = client.post(_action(account, "send-events"), follow=True)

    assert "Sent 2 events, 2 accepted" in response.content.decode()
    assert len(responses.calls) == 2
    assert services.pending_events(account).count() == 0


def test_support_send_events_while_inactive(client, account):
    services.generate_orders(account, 2, seed=1)
    services.deactivate(account)

    response = client.post(_action(account, "send-events"), follow=True)

    assert "2 events stay pending" in response.content.decode()
    assert services.pending_events(account).count() == 2


def test_support_unknown_action_404(client, account):
    response = client.post(_action(account, "delete-everything"))

    assert response.status_code == 404
    assert SandboxAccount.objects.count() == 1


def test_support_action_get_405(client, account):
    services.deactivate(account)

    response = client.get(_action(account, "activate"))

    assert response.status_code == 405
    account.refresh_from_db()
    assert account.active is False


def test_admin_lists_sandbox_models(client, api, account):
    order = two_line_order(account)
    api.post(
        f"/orders/{order.order_id}/dispatches",
        {
            "dispatch_reference": "FUL-5",
            "warehouse_id": "WH-LEEDS-01",
            "carrier": "DPD",
            "lines": [{"line_id": "1", "quantity": 1}],
        },
    )
    admin = get_user_model().objects.create_superuser("root", "r@example.test", "pw")
    client.force_login(admin)

    pages = [
        "sandboxaccount",
        "sandboxwarehouse",
        "sandboxlisting",
        "sandboxorder",
        "sandboxdispatch",
        "sandboxreturn",
        "sandboxstockupdate",
        "sandboxevent",
        "sandboxfaultcount",
    ]
    statuses = {
        page: client.get(f"/admin/thg_sandbox/{page}/").status_code for page in pages
    }
    dispatch = client.get(
        f"/admin/thg_sandbox/sandboxdispatch/{SandboxDispatch.objects.get().pk}/change/"
    )

    assert statuses == dict.fromkeys(pages, 200)
    assert dispatch.status_code == 200
    assert "FUL-5" in dispatch.content.decode()


def test_admin_orders_read_only(client, account):
    [order] = services.generate_orders(account, 1, seed=1)
    admin = get_user_model().objects.create_superuser("root", "r@example.test", "pw")
    client.force_login(admin)

    add = client.get("/admin/thg_sandbox/sandboxorder/add/")
    change = client.post(
        f"/admin/thg_sandbox/sandboxorder/{order.pk}/change/", {"status": "DISPATCHED"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    order.refresh_from_db()
    assert order.status == "NEW"


def test_admin_account_masks_hub_password(client, account):
    services.register_hub(account, HUB_URL, "thg-demo", "inbound-pass-123")
    admin = get_user_model().objects.create_superuser("root", "r@example.test", "pw")
    client.force_login(admin)

    response = client.get(f"/admin/thg_sandbox/sandboxaccount/{account.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "••••••23" in html
    assert "inbound-pass-123" not in html


@responses.activate
def test_generate_demo_orders_task(account):
    responses.add(responses.POST, HUB_URL, status=202)
    services.register_hub(account, HUB_URL, "thg-demo", "pw-123456")

    result = generate_demo_orders("junction-test", count=2)

    assert SandboxOrder.objects.filter(account=account).count() == 2
    assert len(responses.calls) == 2
    assert result == (
        "THG sandbox junction-test/hub-client: generated 2 orders, posted 2 "
        "pending events and 0 reminders."
    )


def test_generate_demo_orders_unknown_realm(db):
    result = generate_demo_orders("nowhere")

    assert "No THG sandbox account in realm 'nowhere'" in result
    assert SandboxOrder.objects.count() == 0


@pytest.mark.django_db
def test_support_page_lists_events_and_masks_secret(client):
    from connectors.thg.sandbox import services
    from connectors.thg.sandbox.models import SandboxEvent

    account = services.ensure_account("page", "hub", "page-client-secret-123")
    services.add_listings(account, [("5012345678900", "Blue mug")])
    services.generate_orders(account, 1, seed=1)
    event = SandboxEvent.objects.get(account=account)

    page = client.get("/sandbox/thg/support/").content.decode()

    assert event.event_id in page
    assert "order.created" in page
    assert "page-client-secret-123" not in page
