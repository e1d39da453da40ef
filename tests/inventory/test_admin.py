import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse

import orders.admin_routing  # noqa: F401  (registers the routing rule admin)
from inventory import stock
from inventory.models import (
    InventorySnapshot,
    Location,
    StockLevel,
    StockMovement,
    WarehouseIntegration,
)
from orders import routing
from orders.admin_routing import RoutingRuleAdmin, route_again
from orders.models import Order, RoutingRule

from .factories import (
    level,
    link,
    make_connector,
    make_location,
    make_order,
    make_product,
    put_stock,
)

pytestmark = pytest.mark.django_db


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_location_add_geocodes_address(admin_client):
    response = admin_client.post(
        reverse("admin:inventory_location_add"),
        {
            "name": "London",
            "code": "london",
            "priority": 1,
            "active": "on",
            "safety_stock": 0,
            "postal_code": "sw1a1aa",
            "country_code": "gb",
            "external_ids-TOTAL_FORMS": 0,
            "external_ids-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    location = Location.objects.get(code="london")
    assert location.postal_code == "SW1A 1AA"
    assert location.coordinates_source == Location.CoordinatesSource.POSTCODE


def test_location_add_rejects_invalid_postcode(admin_client):
    response = admin_client.post(
        reverse("admin:inventory_location_add"),
        {
            "name": "Bad",
            "code": "bad",
            "priority": 1,
            "safety_stock": 0,
            "postal_code": "NOT A CODE",
            "country_code": "GB",
            "external_ids-TOTAL_FORMS": 0,
            "external_ids-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 200
    assert "is not a valid UK postcode" in response.content.decode()
    assert not Location.objects.filter(code="bad").exists()


def test_location_change_page_shows_links(admin_client):
    location = make_location()
    link(location, make_connector(name="THG main"))

    response = admin_client.get(
        reverse("admin:inventory_location_change", args=[location.pk])
    )

    assert response.status_code == 200
    assert "THG main" in response.content.decode()


def test_stock_level_list_shows_available(admin_client):
    product = make_product("LIST-1")
    put_stock(product, make_location(safety_stock=1), 6, committed=2)

    response = admin_client.get(reverse("admin:inventory_stocklevel_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_list[0].product.sku == "LIST-1"
    assert '<td class="field-available_units">3</td>' in response.content.decode()


def test_adjust_action_asks_then_applies(admin_client, admin_user):
    product = make_product()
    location = make_location()
    stock_level = put_stock(product, location, 5)
    url = reverse("admin:inventory_stocklevel_changelist")
    selection = {"action": "adjust_stock", "_selected_action": [stock_level.pk]}

    form_page = admin_client.post(url, selection)
    response = admin_client.post(
        url, {**selection, "apply": "1", "on_hand_change": -2, "note": "damaged"}
    )

    assert form_page.status_code == 200
    assert "Adjust stock" in form_page.content.decode()
    assert response.status_code == 302
    assert level(product, location).on_hand == 3
    movement = StockMovement.objects.get()
    assert (movement.note, movement.user) == ("damaged", admin_user)
    assert _messages(response) == ["Adjusted 1 stock levels."]


def test_adjust_action_reports_rejected(admin_client):
    product = make_product()
    location = make_location()
    stock_level = put_stock(product, location, 5, committed=5)

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_changelist"),
        {
            "action": "adjust_stock",
            "_selected_action": [stock_level.pk],
            "apply": "1",
            "on_hand_change": -1,
            "note": "count",
        },
    )

    assert response.status_code == 302
    assert _messages(response)[0].startswith("1 stock levels were not adjusted: ")
    assert level(product, location).on_hand == 5


def test_adjust_action_needs_a_reason(admin_client):
    stock_level = put_stock(make_product(), make_location(), 5)

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_changelist"),
        {
            "action": "adjust_stock",
            "_selected_action": [stock_level.pk],
            "apply": "1",
            "on_hand_change": 3,
            "note": "",
        },
    )

    assert response.status_code == 200
    assert StockMovement.objects.count() == 0


def test_stock_level_add_goes_through_adjust(admin_client):
    product = make_product()
    location = make_location()

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_add"),
        {
            "product": product.pk,
            "location": location.pk,
            "on_hand": 4,
            "note": "opening stock",
        },
    )

    assert response.status_code == 302
    assert level(product, location).on_hand == 4
    assert StockMovement.objects.get().note == "opening stock"


def test_stock_level_change_page_is_read_only(admin_client):
    stock_level = put_stock(make_product(), make_location(), 5)

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_change", args=[stock_level.pk]),
        {"on_hand": 99, "committed": 0},
    )

    assert response.status_code == 302
    stock_level.refresh_from_db()
    assert stock_level.on_hand == 5


def test_import_page_imports_file(admin_client):
    product = make_product("IMP-1")
    location = make_location("main")
    upload = SimpleUploadedFile(
        "stock.csv", b"SKU,Location code,On hand\nIMP-1,main,8\n"
    )

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_import"), {"file": upload}
    )

    assert response.status_code == 200
    assert level(product, location).on_hand == 8
    assert _messages(response) == ["Imported 1 rows: 1 changed, 0 unchanged."]


def test_import_page_lists_bad_rows(admin_client):
    make_location("main")
    upload = SimpleUploadedFile(
        "stock.csv", b"SKU,Location code,On hand\nNOPE,main,8\n"
    )

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_import"), {"file": upload}
    )

    assert response.status_code == 200
    assert [error.line for error in response.context["errors"]] == [2]
    assert "Nothing was imported: 1 rows need fixing." in _messages(response)
    assert StockLevel.objects.count() == 0


def test_movements_are_read_only(admin_client):
    product = make_product()
    location = make_location()
    stock.adjust(product, location, on_hand_change=1, reason="adjustment")
    movement = StockMovement.objects.get()

    listing = admin_client.get(reverse("admin:inventory_stockmovement_changelist"))
    adding = admin_client.get(reverse("admin:inventory_stockmovement_add"))
    deleting = admin_client.post(
        reverse("admin:inventory_stockmovement_delete", args=[movement.pk]),
        {"post": "yes"},
    )

    assert listing.status_code == 200
    assert adding.status_code == 403
    assert deleting.status_code == 403
    assert StockMovement.objects.count() == 1


def test_preview_shows_totals_and_parts(admin_client):
    connector = make_connector()
    product = make_product("PRE-1")
    counted = make_location("counted", name="Counted")
    link(counted, connector)
    put_stock(product, counted, 5, committed=1)
    InventorySnapshot.objects.create(
        connector=connector, product=product, identifier="PRE-1", accepted_quantity=2
    )

    response = admin_client.get(
        reverse("admin:inventory_inventorysnapshot_preview", args=[connector.pk])
    )

    assert response.status_code == 200
    row = response.context["rows"][0]
    assert (row["total"], row["accepted"], row["changed"]) == (4, 2, True)
    assert "Counted: 4 available" in response.content.decode()


def test_snapshot_list_links_previews(admin_client):
    connector = make_connector(name="TikTok UK")

    response = admin_client.get(reverse("admin:inventory_inventorysnapshot_changelist"))

    assert "Preview TikTok UK" in response.content.decode()
    assert (
        reverse("admin:inventory_inventorysnapshot_preview", args=[connector.pk])
        in response.content.decode()
    )


def test_integration_add_shows_token_once(admin_client):
    location = make_location()

    response = admin_client.post(
        reverse("admin:inventory_warehouseintegration_add"),
        {"name": "3PL", "active": "on", "locations": [location.pk]},
        follow=True,
    )

    integration = WarehouseIntegration.objects.get()
    message = [m for m in _messages(response) if m.startswith("Token for 3PL: ")]
    assert len(message) == 1
    token = message[0].split(": ")[1].split(".")[0]
    assert integration.token_hash is not None
    assert token.startswith(integration.token_prefix)


def test_integration_new_token_replaces_old(admin_client):
    integration = WarehouseIntegration(name="Old")
    integration.issue_token()
    integration.save()
    old_hash = integration.token_hash

    admin_client.post(
        reverse("admin:inventory_warehouseintegration_changelist"),
        {"action": "issue_new_token", "_selected_action": [integration.pk]},
    )

    integration.refresh_from_db()
    assert integration.token_hash != old_hash


def test_routing_rule_admin_add_with_candidates(admin_client):
    location = make_location()

    response = admin_client.post(
        reverse("admin:orders_routingrule_add"),
        {
            "name": "UK first",
            "position": 1,
            "active": "on",
            "countries": "GB",
            "check_stock": "on",
            "candidates-TOTAL_FORMS": 1,
            "candidates-INITIAL_FORMS": 0,
            "candidates-0-location": location.pk,
            "candidates-0-priority": 0,
        },
    )

    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert list(rule.candidates.values_list("location_id", flat=True)) == [location.pk]


def _request(user):
    request = RequestFactory().post("/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_route_again_action(admin_user):
    product = make_product()
    first = make_location("first", priority=1)
    second = make_location("second", priority=2)
    put_stock(product, first, 5)
    put_stock(product, second, 5)
    order = make_order(make_connector(), [(product, 1)])
    routing.route_order(order)
    Location.objects.filter(pk=first.pk).update(paused=True)
    request = _request(admin_user)

    route_again(RoutingRuleAdmin(RoutingRule, None), request, Order.objects.all())

    order.refresh_from_db()
    assert order.location == second
    assert [str(m) for m in request._messages] == [
        "Routed 1 orders; 0 need stock, 0 skipped."
    ]


def test_repair_stock_reports_then_fixes(capsys):
    product = make_product("REP-1")
    location = make_location(name="Main")
    put_stock(product, location, 5, committed=3)

    call_command("repair_stock")
    report = capsys.readouterr().out
    call_command("repair_stock", "--apply")
    applied = capsys.readouterr().out

    assert "REP-1 at Main: committed 3, allocations 0" in report
    assert "1 differences found; run with --apply to fix them." in report
    assert "Fixed 1 of 1 differences." in applied
    assert level(product, location).committed == 0


def test_repair_stock_clean(capsys):
    call_command("repair_stock")

    assert "Committed stock matches the allocations." in capsys.readouterr().out


def test_repair_stock_unfixable_fails(capsys):
    product = make_product("REP-2")
    location = make_location(name="Main")
    order = make_order(make_connector(), [(product, 4)])
    put_stock(product, location, 4)
    stock.commit_lines([(order.lines.get(), location, 4)])
    StockLevel.objects.filter(product=product).update(on_hand=2, committed=0)

    with pytest.raises(CommandError) as caught:
        call_command("repair_stock", "--apply")

    assert "1 differences need a stock adjustment first." in str(caught.value)
    assert level(product, location).committed == 0


def test_geocode_locations_command(capsys):
    Location.objects.create(
        name="L", code="l", country_code="GB", postal_code="SW1A 1AA"
    )
    Location.objects.update(coordinates_source="")

    call_command("geocode_locations")

    assert "1 locations: 1 from Postal code." in capsys.readouterr().out
    assert Location.objects.get().coordinates_source == "postcode"
