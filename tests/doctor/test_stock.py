"""Inventory totals and the SKU allowlist."""

import pytest

from connectors.doctor import Severity
from connectors.models import SyncRun
from connectors.sync import run_stream
from connectors.thg.sandbox.models import SandboxListing
from inventory import stock
from inventory.models import (
    ExternalLocation,
    InventorySnapshot,
    Location,
    StockMovement,
)
from orders.models import OrderLine
from tests.catalog import factories
from tests.e2e.thg_world import TEE

from .conftest import by_code, offline_connector, run_check

# Inventory totals look wrong.


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_item_rejected_on_last_push_is_drift(world):
    SandboxListing.objects.filter(account=world.account, upc=TEE).delete()
    run = run_stream(world.connector, "inventory", SyncRun.Trigger.COMMAND)
    assert run.failed == 1

    findings = by_code(run_check(world.connector, "inventory_totals"))

    drift = findings["inventory_drift"]
    assert drift.severity == Severity.WARNING
    assert drift.evidence["count"] == 1
    assert drift.evidence["rejected"] == 1
    assert drift.evidence["examples"] == [
        {
            "sku": "TEE",
            "identifier": TEE,
            "accepted": None,
            "total_now": 4,
            "last_status": "rejected",
            "last_error": "UnknownProduct: No listing has this UPC",
        }
    ]
    assert "'Force inventory resync'" in drift.next_step
    assert "python manage.py force_inventory_resync 'THG Doctor'" in drift.next_step
    counted = findings["counted_locations"]
    assert counted.severity == Severity.INFO
    assert counted.evidence["counted"] == [
        {"location": "leeds", "external_id": "WH-LEEDS-01"},
        {"location": "mcr", "external_id": "WH-MCR-02"},
    ]
    assert counted.message == (
        "Totals for THG Doctor sum the available units at leeds (WH-LEEDS-01), "
        "mcr (WH-MCR-02)."
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_accepted_push_has_no_drift(world):
    run = run_stream(world.connector, "inventory", SyncRun.Trigger.COMMAND)
    assert run.updated == 3

    findings = by_code(run_check(world.connector, "inventory_totals"))

    assert sorted(findings) == ["counted_locations"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_stock_changed_after_push_is_waiting_not_drift(world):
    run_stream(world.connector, "inventory", SyncRun.Trigger.COMMAND)
    stock.set_on_hand(
        world.products["TEE"],
        world.leeds,
        3,
        reason=StockMovement.Reason.ADJUSTMENT,
    )

    findings = by_code(run_check(world.connector, "inventory_totals"))

    assert "inventory_drift" not in findings
    assert findings["inventory_waiting"].severity == Severity.INFO
    assert findings["inventory_waiting"].evidence["count"] == 1


@pytest.mark.django_db
def test_counted_and_left_out_locations_are_listed():
    connector = offline_connector()
    leeds = Location.objects.create(name="Leeds", code="leeds", priority=1)
    york = Location.objects.create(name="York", code="york", priority=2)
    Location.objects.create(name="Shop", code="shop", priority=3)
    ExternalLocation.objects.create(
        connector=connector, location=leeds, external_id="L"
    )
    ExternalLocation.objects.create(
        connector=connector, location=york, external_id="Y", counts_in_totals=False
    )

    finding = by_code(run_check(connector, "inventory_totals"))["counted_locations"]

    assert finding.evidence == {
        "counted": [{"location": "leeds", "external_id": "L"}],
        "left_out": [
            {
                "location": "york",
                "external_id": "Y",
                "why": "does not count in this connector's totals",
            }
        ],
        "not_linked": ["shop"],
    }


@pytest.mark.django_db
def test_no_counted_location_is_an_error():
    connector = offline_connector()
    paused = Location.objects.create(name="Leeds", code="leeds", paused=True)
    ExternalLocation.objects.create(
        connector=connector, location=paused, external_id="L"
    )

    finding = by_code(run_check(connector, "inventory_totals"))["no_counted_locations"]

    assert finding.severity == Severity.ERROR
    assert finding.evidence["left_out"] == [
        {"location": "leeds", "external_id": "L", "why": "paused"}
    ]


@pytest.mark.django_db
def test_inventory_off_is_a_warning():
    connector = offline_connector(inventory_enabled=False)

    findings = run_check(connector, "inventory_totals")

    assert [(f.code, f.severity) for f in findings] == [
        ("inventory_off", Severity.WARNING)
    ]


@pytest.mark.django_db
def test_drift_counts_only_after_a_successful_push():
    connector = offline_connector()
    product = factories.product("MUG")
    InventorySnapshot.objects.create(
        connector=connector, product=product, identifier="X", accepted_quantity=5
    )

    findings = by_code(run_check(connector, "inventory_totals"))

    assert "inventory_drift" not in findings
    assert findings["inventory_waiting"].evidence == {
        "count": 1,
        "last_successful_push": None,
    }


# Inventory updating the wrong products.


@pytest.mark.django_db
def test_allowlist_names_products_left_out():
    connector = offline_connector(inventory_sku_allowlist="MUG-BLUE")
    for sku in ("MUG-BLUE", "MUG-RED", "TEE"):
        factories.product(sku)

    findings = by_code(run_check(connector, "sku_allowlist"))

    finding = findings["allowlist_set"]
    assert finding.severity == Severity.INFO
    assert finding.evidence == {
        "allowlist": 1,
        "left_out": 2,
        "left_out_examples": ["MUG-RED", "TEE"],
        "sold_but_left_out": [],
    }
    assert "'process inventory only for these SKUs'" in finding.next_step


@pytest.mark.django_db
def test_allowlist_leaving_out_sold_products_is_a_warning():
    connector = offline_connector(inventory_sku_allowlist="MUG-BLUE, mug-red")
    factories.product("MUG-BLUE")
    red = factories.product("MUG-RED")
    OrderLine.objects.create(
        order=factories.order(connector), external_id="1", quantity=1, product=red
    )

    findings = by_code(run_check(connector, "sku_allowlist"))

    sold = findings["allowlist_leaves_out_sold"]
    assert sold.severity == Severity.WARNING
    assert sold.evidence["sold_but_left_out"] == ["MUG-RED"]
    assert "allowlist_set" not in findings
    unknown = findings["allowlist_unknown_sku"]
    assert unknown.severity == Severity.WARNING
    assert unknown.evidence == {"unknown": ["mug-red"], "count": 1}


@pytest.mark.django_db
def test_old_sales_do_not_count_as_sold():
    connector = offline_connector(inventory_sku_allowlist="MUG-BLUE")
    factories.product("MUG-BLUE")
    red = factories.product("MUG-RED")
    order = factories.order(connector, days_ago=45)
    OrderLine.objects.create(order=order, external_id="1", quantity=1, product=red)

    findings = by_code(run_check(connector, "sku_allowlist"))

    assert sorted(findings) == ["allowlist_set"]


@pytest.mark.django_db
def test_empty_allowlist_gives_nothing():
    connector = offline_connector()
    factories.product("MUG")

    assert run_check(connector, "sku_allowlist") == []
