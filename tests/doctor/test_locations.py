"""Where THG and TikTok Shop orders are routed to."""

import pytest

from connectors.doctor import Severity
from connectors.thg.sandbox import services as sandbox
from inventory.models import ExternalLocation, Location
from orders.models import RoutingRule, RoutingRuleLocation

from .conftest import build_tiktok_world, by_code, run_check

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# A THG order routed to the wrong location.


def test_thg_warehouse_id_not_listed_is_an_error(world):
    sandbox.set_warehouses(world.account, [("WH-LEEDS-01", "Leeds")])

    findings = by_code(run_check(world.connector, "thg_locations"))

    finding = findings["thg_warehouse_unlisted"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence == {
        "unlisted": [{"id": "WH-MCR-02", "location": "mcr"}],
        "thg_lists": ["WH-LEEDS-01"],
    }
    assert "per GET /v1/warehouses now" in finding.message
    assert "'Pull locations from THG'" in finding.next_step


def test_listed_warehouses_give_nothing(world):
    assert run_check(world.connector, "thg_locations") == []


def test_thg_pair_without_location_is_a_warning(world):
    world.connector.thg_locations += "\nBristol:WH-BRS-03"
    world.connector.save()
    sandbox.set_warehouses(
        world.account,
        [("WH-LEEDS-01", "Leeds"), ("WH-MCR-02", "Manchester"), ("WH-BRS-03", "B")],
    )

    findings = by_code(run_check(world.connector, "thg_locations"))

    assert findings["thg_pair_not_linked"].evidence == {"pairs": ["Bristol:WH-BRS-03"]}
    assert "thg_warehouse_unlisted" not in findings


def test_manual_location_without_thg_id_or_address(world):
    Location.objects.create(name="Shop floor", code="shop", priority=3)

    findings = by_code(run_check(world.connector, "thg_locations"))

    manual = findings["thg_manual_location"]
    assert manual.severity == Severity.WARNING
    assert manual.evidence == {
        "locations": [
            {
                "location": "shop",
                "postal_code": None,
                "city": None,
                "coordinates": "none",
            }
        ],
        "orders_routed_there": [],
    }
    address = findings["location_address"]
    assert address.severity == Severity.WARNING
    assert address.evidence["locations"][0]["problem"] == "no postal code or city"


def test_ungeocoded_location_under_closest_rule(world):
    world.leeds.postal_code = "ZZ99 9ZZ"
    world.leeds.city = "Nowhere-on-the-map"
    world.leeds.save()
    rule = RoutingRule.objects.create(name="Closest", closest_wins=True)
    RoutingRuleLocation.objects.create(rule=rule, location=world.leeds)

    findings = by_code(run_check(world.connector, "thg_locations"))

    address = findings["location_address"]
    assert address.evidence["locations"] == [
        {
            "location": "leeds",
            "postal_code": world.leeds.postal_code,
            "city": "Nowhere-on-the-map",
            "coordinates": "none",
            "problem": "address not geocoded",
        }
    ]
    assert "thg_manual_location" not in findings


def test_rules_only_for_other_connectors_leave_thg_uncovered(world):
    other = build_tiktok_world(world.base_url).connector
    RoutingRule.objects.create(name="TikTok only", connector=other)

    findings = by_code(run_check(world.connector, "thg_locations"))

    assert findings["no_routing_rule"].severity == Severity.WARNING


def test_unlisted_id_uses_last_sync(world):
    ExternalLocation.objects.filter(external_id="WH-MCR-02").update(
        listed_by_channel=False
    )
    sandbox.deactivate(world.account)

    findings = by_code(run_check(world.connector, "thg_locations"))

    finding = findings["thg_warehouse_unlisted"]
    assert "per the last locations sync" in finding.message
    assert finding.evidence["thg_lists"] is None


# A TikTok order routed to the wrong location.


def test_tiktok_warehouse_without_location_is_a_warning(live_server):
    tiktok = build_tiktok_world(live_server.url, link_all=False)
    north = tiktok.shop.warehouses.get(name="GB North")

    findings = by_code(run_check(tiktok.connector, "tiktok_warehouses"))

    finding = findings["tiktok_warehouse_unmapped"]
    assert finding.severity == Severity.WARNING
    assert finding.evidence["warehouses"] == [
        {"id": north.warehouse_id, "name": "GB North"}
    ]
    assert "tiktok_warehouse_unlisted" not in findings


def test_tiktok_linked_id_not_listed_is_an_error(tiktok_world):
    location = Location.objects.create(name="Old", code="old")
    ExternalLocation.objects.create(
        connector=tiktok_world.connector, location=location, external_id="700000001"
    )

    findings = by_code(run_check(tiktok_world.connector, "tiktok_warehouses"))

    finding = findings["tiktok_warehouse_unlisted"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence["unlisted"] == [{"id": "700000001", "location": "old"}]


def test_tiktok_all_warehouses_mapped_gives_nothing(tiktok_world):
    assert run_check(tiktok_world.connector, "tiktok_warehouses") == []
