"""The support and ops flows in a real browser, against the THG sandbox
served by the same live server."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import IdentifierMapping, Product
from connectors.models import Connector
from connectors.thg.sandbox import services as sandbox
from orders.models import Fulfillment, Order
from tests.e2e.thg_world import BLUE, SECRET, build_world

from .conftest import (
    ADMIN_PASSWORD,
    SCREENSHOTS,
    SUPPORT_PASSWORD,
    log_in,
    messages,
    run_action,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_tokens():
    from connectors.thg.client import token_cache

    token_cache.clear()
    yield
    token_cache.clear()


def _shot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_log_in_opens_dashboard(page, live_server, admin_user):
    world = build_world(live_server.url)
    world.order(("1", BLUE, 1))
    call_command("sync", world.connector.name)

    log_in(page, "admin", ADMIN_PASSWORD)

    assert page.locator("#dashboard").is_visible()
    assert page.locator(f"#connector-{world.connector.pk} .state").inner_text() == (
        "Connected"
    )
    assert page.locator("#dashboard-orders .figure").inner_text() == "1"
    assert page.locator("#dashboard-chart svg rect.bar-orders").count() == 14
    _shot(page, "dashboard")


def test_set_up_thg_connector_in_two_screens(page, live_server, admin_user):
    base = f"{live_server.url}/sandbox/thg"
    account = sandbox.ensure_account("browser", "hub", SECRET, active=True)
    log_in(page, "admin", ADMIN_PASSWORD)

    page.goto("/admin/connectors/connector/add/")
    page.fill("#id_name", "THG browser")
    page.select_option("#id_kind", "thg")
    page.select_option("#id_identifier_strategy", "B")
    page.click("input[name=_save]")
    page.wait_for_url("**/connection/")
    page.fill("#id_thg_realm", "browser")
    page.fill("#id_thg_client_id", "hub")
    page.fill("#id_new_thg_client_secret", SECRET)
    page.fill("#id_inbound_username", "thg-browser")
    page.check("#id_generate_inbound_password")
    page.fill("#id_api_url", base)
    page.fill("#id_auth_url", base)
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    saved = messages(page)
    connector = Connector.objects.get(name="THG browser")
    _shot(page, "connector")

    assert any("The hub password for THG is" in m for m in saved)
    assert connector.status == Connector.Status.AWAITING_ACTIVATION
    assert connector.thg_client_secret == SECRET
    assert SECRET not in page.content()

    run_action(page, "/admin/connectors/connector/", connector.pk, "test_connection")

    connector.refresh_from_db()
    result = " ".join(messages(page))
    assert "THG browser:" in result
    assert page.locator("ul.messagelist li.success").count() == 1, result
    assert connector.status == Connector.Status.CONNECTED
    assert account.realm == "browser"


def test_import_mapping_file_with_preview(page, live_server, admin_user, tmp_path):
    connector = Connector.objects.create(
        kind="thg", name="THG mappings", identifier_strategy="C"
    )
    product = Product.objects.create(sku="MUG-BLUE", name="Blue mug")
    csv = tmp_path / "mappings.csv"
    csv.write_text(f"sku,upc\nMUG-BLUE,{BLUE}\n")
    log_in(page, "admin", ADMIN_PASSWORD)

    page.goto("/admin/catalog/product/import/")
    page.select_option("select[name=connector]", str(connector.pk))
    page.set_input_files("input[name=import_file]", str(csv))
    page.click("#content form input[type=submit]")
    page.wait_for_selector("p.import-summary")
    preview = page.locator("p.import-summary").inner_text()
    assert not IdentifierMapping.objects.exists()
    page.click("form input[type=submit][name=confirm], form input[type=submit]")
    page.wait_for_url("**/importjob/**")

    mapping = IdentifierMapping.objects.get(connector=connector)
    assert "1" in preview
    assert mapping.product == product
    assert mapping.channel_identifier == "0" + BLUE


def test_backfill_action(page, live_server, admin_user):
    world = build_world(live_server.url)
    placed = timezone.now() - timedelta(days=20)
    world.order(("1", BLUE, 1), created_at=placed)
    log_in(page, "admin", ADMIN_PASSWORD)

    run_action(
        page, "/admin/connectors/connector/", world.connector.pk, "backfill_orders"
    )
    page.wait_for_selector("#backfill-form")
    page.fill("#id_since", (timezone.localdate() - timedelta(days=30)).isoformat())
    page.click("input[name=apply]")
    page.wait_for_selector("ul.messagelist")

    assert any("Queued 1 backfills on 1 connectors." in m for m in messages(page))
    assert Order.objects.filter(connector=world.connector).count() == 1
    page.click("ul.messagelist a")
    page.wait_for_url("**/syncrun/**")
    assert page.locator("#result_list tbody tr").count() >= 1


def test_fulfil_order(page, live_server, admin_user):
    world = build_world(live_server.url)
    world.order(("1", BLUE, 2))
    call_command("sync", world.connector.name)
    order = Order.objects.get(connector=world.connector)
    log_in(page, "admin", ADMIN_PASSWORD)

    page.goto(f"/admin/orders/order/{order.pk}/change/")
    page.click("a.fulfil-link")
    page.fill("#id_carrier", "Royal Mail")
    page.fill("#id_tracking_number", "RM123456789GB")
    page.click("#content form input[type=submit]")
    page.wait_for_url(f"**/orders/order/{order.pk}/change/")

    fulfillment = Fulfillment.objects.get(order=order)
    assert fulfillment.tracking_number == "RM123456789GB"
    assert any("recorded: 2 units" in m for m in messages(page))


def test_support_cannot_open_credentials(page, live_server, support_user):
    world = build_world(live_server.url)
    log_in(page, "support", SUPPORT_PASSWORD)

    page.goto(f"/admin/connectors/connector/{world.connector.pk}/change/")
    shown = page.content()
    response = page.goto(
        f"/admin/connectors/connector/{world.connector.pk}/connection/"
    )

    assert "Connection…" not in shown
    assert "THG E2E" in shown
    assert response.status == 403
    assert SECRET not in page.content()
