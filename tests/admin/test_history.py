"""Who changed what and when, with old and new values, from each page."""

import pytest
from django.urls import reverse

from catalog.models import ChannelListing, IdentifierMapping, Product
from inventory import stock
from inventory.models import ExternalLocation, StockLevel, StockMovement
from orders.models import RoutingRule, RoutingRuleLocation
from tests.inventory.factories import make_connector, make_location, make_product

from .conftest import form_data

pytestmark = pytest.mark.django_db


def _urls(obj):
    meta = obj._meta
    base = f"admin:{meta.app_label}_{meta.model_name}"
    return (
        reverse(f"{base}_change", args=[obj.pk]),
        reverse(f"{base}_history", args=[obj.pk]),
    )


def _change(client, obj, **changes):
    change_url, history_url = _urls(obj)
    response = client.post(change_url, form_data(client.get(change_url), **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return client.get(history_url)


def test_product_history_shows_old_and_new_name(support_client, support_user):
    product = Product.objects.create(sku="MUG", name="Mug")

    page = _change(support_client, product, name="Blue mug")

    assert page.status_code == 200
    assert "Mug" in page.text
    assert "Blue mug" in page.text
    assert "&rarr;" in page.text
    assert support_user.username in page.text
    record = product.history.first()
    assert record.history_user == support_user
    assert record.name == "Blue mug"
    assert record.prev_record.name == "Mug"


def test_channel_option_history(support_client, support_user):
    connector = make_connector(name="THG")
    listing = ChannelListing.objects.create(
        product=make_product("MUG"), connector=connector, channel_sku="05012345678900"
    )

    page = _change(support_client, listing, channel_sku="05012345678917")

    assert "05012345678900" in page.text
    assert "05012345678917" in page.text
    assert listing.history.first().history_user == support_user


def test_mapping_history(support_client, support_user):
    connector = make_connector(name="THG", identifier_strategy="C")
    mapping = IdentifierMapping.objects.create(
        connector=connector,
        channel_identifier="05012345678900",
        product=make_product("MUG"),
    )
    other = make_product("CUP")

    page = _change(support_client, mapping, product=str(other.pk))

    assert page.status_code == 200
    assert mapping.history.count() == 2
    assert mapping.history.first().product_id == other.pk
    assert mapping.history.first().history_user == support_user


def test_location_history(support_client):
    location = make_location("leeds", name="Leeds", priority=5)

    page = _change(support_client, location, priority="8")

    assert "<strong>Priority:</strong>" in page.text
    assert location.history.first().priority == 8
    assert location.history.first().prev_record.priority == 5


def test_routing_rule_history(ops_client, ops_user):
    rule = RoutingRule.objects.create(name="UK first", position=1)

    page = _change(ops_client, rule, name="UK only")

    assert "UK first" in page.text
    assert "UK only" in page.text
    assert rule.history.first().history_user == ops_user


def test_connector_history_shows_settings_change(ops_client, ops_user):
    connector = make_connector(name="THG", orders_interval_minutes=5)

    page = _change(ops_client, connector, orders_interval_minutes="10")

    assert page.status_code == 200
    assert "<strong>Orders interval minutes:</strong>" in page.text
    record = connector.history.first()
    assert record.orders_interval_minutes == 10
    assert record.history_user == ops_user


def test_history_page_refuses_revert(ops_client):
    rule = RoutingRule.objects.create(name="UK first", position=1)
    _change(ops_client, rule, name="UK only")
    first = rule.history.last()
    url = reverse(
        "admin:orders_routingrule_simple_history", args=[rule.pk, first.history_id]
    )

    page = ops_client.get(url)

    assert page.status_code == 200
    assert "Revert" not in page.text


def test_stock_level_page_links_its_ledger(support_client):
    product = make_product("MUG")
    location = make_location("leeds")
    stock.set_on_hand(product, location, 4, reason=StockMovement.Reason.IMPORT)
    other = make_location("york")
    stock.set_on_hand(product, other, 2, reason=StockMovement.Reason.IMPORT)
    level = StockLevel.objects.get(product=product, location=location)

    page = support_client.get(
        reverse("admin:inventory_stocklevel_change", args=[level.pk])
    )
    ledger_url = (
        reverse("admin:inventory_stockmovement_changelist")
        + f"?product__id__exact={product.pk}&location__id__exact={location.pk}"
    )
    ledger = support_client.get(ledger_url)

    assert ledger_url.replace("&", "&amp;") in page.text
    assert ledger.status_code == 200
    assert ledger.context["cl"].result_count == 1
    assert list(ledger.context["cl"].result_list)[0].on_hand_change == 4


def test_location_history_lists_connector_links(support_client, support_user):
    location = make_location("leeds", name="Leeds")
    connector = make_connector(name="THG links")
    ExternalLocation.objects.create(
        location=location, connector=connector, external_id="WH-1"
    )
    change_url, history_url = _urls(location)
    data = form_data(support_client.get(change_url))
    del data["external_ids-0-counts_in_totals"]

    support_client.post(change_url, data)
    page = support_client.get(history_url)

    link = ExternalLocation.objects.get()
    assert link.counts_in_totals is False
    assert link.history.first().history_user == support_user
    assert "Connector links" in page.text
    assert page.text.count("THG links") >= 2
    assert "WH-1" in page.text


def test_routing_rule_history_lists_candidates(ops_client):
    rule = RoutingRule.objects.create(name="UK first", position=1)
    RoutingRuleLocation.objects.create(rule=rule, location=make_location("york"))

    page = ops_client.get(_urls(rule)[1])

    assert "Candidate locations" in page.text
    assert "Location york" in page.text


def test_history_version_page_refuses_post(support_client):
    connector = make_connector(name="THG versions")
    record = connector.history.first()
    url = reverse(
        "admin:connectors_connector_simple_history",
        args=[connector.pk, record.history_id],
    )

    shown = support_client.get(url)
    response = support_client.post(url, {"name": "Renamed"})

    connector.refresh_from_db()
    assert shown.status_code == 200
    assert response.status_code == 405
    assert connector.name == "THG versions"


def test_product_history_lists_channel_options(support_client):
    connector = make_connector(name="THG options")
    product = make_product("MUG")
    ChannelListing.objects.create(
        product=product, connector=connector, channel_sku="05012345678900"
    )

    page = support_client.get(_urls(product)[1])

    assert "Channel Options" in page.text
    assert "05012345678900" in page.text
    assert "THG options" in page.text
