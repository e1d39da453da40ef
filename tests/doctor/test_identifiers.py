"""Order lines that match no product, and the identifier problems behind them."""

import pytest

from catalog import gtin
from catalog.models import ChannelListing, IdentifierMapping
from connectors.doctor import Severity
from connectors.models import Connector, SyncRun
from connectors.sync import run_stream
from orders.models import OrderLine
from tests.catalog import factories
from tests.e2e.thg_world import BLUE, RED

from .conftest import by_code, offline_connector, offline_tiktok, run_check

# Orders not matching products.


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_strategy_a_with_empty_thg_sku_is_explained(world):
    connector = world.connector
    connector.identifier_strategy = Connector.IdentifierStrategy.MASTER_SKU
    connector.save()
    blue = world.order(("1", BLUE, 1))
    world.order(("1", RED, 2))
    run = run_stream(connector, "orders", SyncRun.Trigger.COMMAND)
    assert run.status == "succeeded", run.error

    findings = by_code(run_check(connector, "unmatched_lines"))

    finding = findings["lines_unmatched"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence["lines"] == 2
    assert finding.evidence["unmatched"] == 2
    assert finding.evidence["unmatched_percent"] == 100.0
    assert finding.evidence["by_identifier_kind"] == {"upc_only": 2}
    assert finding.evidence["strategy"] == "A"
    assert finding.evidence["would_match_by_strategy"] == {"A": 0, "B": 2, "C": 0}
    assert finding.evidence["examples"][0] == {
        "order": f"THG-{blue.order_id}",
        "line": "1",
        "upc": BLUE,
    }
    assert (
        "Strategy A reads THG's SKU field, which is empty on 2 of these lines "
        "while their UPC is present" in finding.message
    )
    assert "Strategy B (Channel SKU = THG UPC) would match 2 of them" in (
        finding.message
    )
    assert finding.next_step.startswith(
        "Switch the connector's identifier strategy to B"
    )


@pytest.mark.django_db
def test_few_unmatched_lines_are_a_warning():
    connector = offline_connector()
    product = factories.product(
        "MUG", upc_value=gtin.normalize(factories.upc("501234567890"))
    )
    ChannelListing.objects.create(
        product=product, connector=connector, channel_sku=product.upc
    )
    order = factories.order(connector)
    for number in range(4):
        OrderLine.objects.create(
            order=order,
            external_id=str(number),
            upc=product.upc,
            quantity=1,
            product=product,
        )
    factories.unmatched_line(order, "9", upc="5000000000017")

    finding = by_code(run_check(connector, "unmatched_lines"))["lines_unmatched"]

    assert finding.severity == Severity.WARNING
    assert finding.evidence["unmatched_percent"] == 20.0
    assert finding.evidence["would_match_by_strategy"] == {"A": 0, "B": 0, "C": 0}
    assert "No strategy matches them" in finding.message


@pytest.mark.django_db
def test_strategy_b_product_upcs_explained():
    connector = offline_connector()
    product = factories.product("MUG", upc_value="05012345678900")
    factories.unmatched_line(factories.order(connector), upc="5012345678900")

    finding = by_code(run_check(connector, "unmatched_lines"))["lines_unmatched"]

    assert (
        "1 of them carry a UPC that a product has in its UPC field, but no "
        "product has it as its THG Channel SKU" in finding.message
    )
    assert product.sku == "MUG"


@pytest.mark.django_db
def test_all_lines_matched_gives_nothing():
    connector = offline_connector()
    product = factories.product("MUG")
    OrderLine.objects.create(
        order=factories.order(connector), external_id="1", quantity=1, product=product
    )

    assert run_check(connector, "unmatched_lines") == []


@pytest.mark.django_db
def test_tiktok_unmatched_seller_skus():
    connector = offline_tiktok()
    factories.product("SOCK-RED")
    factories.unmatched_line(factories.order(connector), seller_sku="sock-red")

    findings = by_code(run_check(connector, "unmatched_lines"))

    finding = findings["lines_unmatched"]
    assert finding.evidence["by_identifier_kind"] == {"seller_sku": 1}
    assert finding.evidence["would_match_now"] == 0
    assert "matches each line's seller SKU against the master SKUs" in (finding.message)


# Mixed identifier approaches and duplicate identifiers.


@pytest.mark.django_db
def test_audit_reports_mixed_approaches_and_duplicates():
    connector = offline_connector()
    upc = gtin.normalize(factories.upc("501234567890"))
    first = factories.product(
        "MUG-1", upc_value=gtin.normalize(factories.upc("501234567891"))
    )
    second = factories.product("MUG-2", upc_value=first.upc)
    ChannelListing.objects.create(product=first, connector=connector, channel_sku=upc)
    ChannelListing.objects.create(
        product=second, connector=connector, channel_sku=upc[1:]
    )
    IdentifierMapping.objects.create(
        connector=connector, channel_identifier="05000000000017", product=first
    )

    findings = by_code(run_check(connector, "identifier_audit"))

    duplicate_upc = findings["duplicate_upc"]
    assert duplicate_upc.severity == Severity.ERROR
    assert duplicate_upc.title == "Duplicate identifiers"
    assert duplicate_upc.evidence == {
        "count": 1,
        "examples": [{"value": first.upc, "skus": ["MUG-1", "MUG-2"]}],
    }
    duplicate_sku = findings["duplicate_channel_sku"]
    assert duplicate_sku.severity == Severity.ERROR
    assert duplicate_sku.evidence["examples"][0]["skus"] == ["MUG-1", "MUG-2"]
    mixed = findings["unused_identifier"]
    assert mixed.severity == Severity.WARNING
    assert mixed.title == "Mixed identifier approaches"
    assert mixed.evidence["strategy"] == "B"
    assert mixed.evidence["examples"] == [
        {"value": "05000000000017", "skus": ["MUG-1"]}
    ]
    assert "python manage.py audit_identifiers 'THG data'" in mixed.next_step


@pytest.mark.django_db
def test_clean_catalog_gives_no_audit_findings():
    connector = offline_connector()
    product = factories.product(
        "MUG", upc_value=gtin.normalize(factories.upc("501234567890"))
    )
    ChannelListing.objects.create(
        product=product, connector=connector, channel_sku=product.upc
    )

    assert run_check(connector, "identifier_audit") == []


# A Channel SKU expected on a TikTok row.


@pytest.mark.django_db
def test_tiktok_row_with_channel_sku_is_explained():
    connector = offline_tiktok()
    product = factories.product("SOCK-RED")
    # The form rejects this; an import or the shell can still store it.
    ChannelListing.objects.create(
        product=product, connector=connector, channel_sku="TT-SOCK"
    )

    findings = by_code(run_check(connector, "tiktok_channel_sku"))

    finding = findings["tiktok_channel_sku_set"]
    assert finding.severity == Severity.WARNING
    assert "TikTok Shop has none" in finding.message
    assert "seller SKU against the master SKU" in finding.message
    assert finding.evidence == {
        "count": 1,
        "examples": [{"sku": "SOCK-RED", "channel_sku": "TT-SOCK"}],
    }
    assert finding.next_step.startswith("Clear the Channel SKU on these rows")


@pytest.mark.django_db
def test_tiktok_unknown_seller_sku():
    connector = offline_tiktok()
    factories.product("SOCK-RED")
    factories.unmatched_line(factories.order(connector), seller_sku="sock-red ")

    findings = by_code(run_check(connector, "tiktok_channel_sku"))

    finding = findings["tiktok_seller_sku_unknown"]
    assert finding.severity == Severity.WARNING
    assert finding.evidence == {"count": 1, "seller_skus": ["sock-red"]}
    assert "the seller SKU itself must equal the master SKU" in finding.message
    assert "The catalog has 'SOCK-RED'" in finding.message


# A Channel SKU missing on a parent product's row.


@pytest.mark.django_db
def test_parent_row_without_channel_sku_points_at_variants():
    connector = offline_connector()
    parent = factories.product("TEE")
    small = factories.product("TEE-S", parent=parent)
    large = factories.product("TEE-L", parent=parent)
    ChannelListing.objects.create(product=parent, connector=connector)
    ChannelListing.objects.create(
        product=small, connector=connector, channel_sku="05012345678900"
    )

    findings = by_code(run_check(connector, "parent_channel_sku"))

    info = findings["parent_channel_sku_empty"]
    assert info.severity == Severity.INFO
    assert "its children (variants) carry the Channel SKU" in info.message
    assert info.evidence == {
        "count": 1,
        "parents": [
            {"parent": "TEE", "variants": ["TEE-L=none", "TEE-S=05012345678900"]}
        ],
    }
    missing = findings["variant_channel_sku_missing"]
    assert missing.severity == Severity.WARNING
    assert missing.evidence == {"count": 1, "variants": ["TEE-L"]}
    assert large.parent_id == parent.pk


@pytest.mark.django_db
def test_parent_row_with_channel_sku_is_a_warning():
    connector = offline_connector()
    parent = factories.product("TEE")
    factories.product("TEE-S", parent=parent)
    ChannelListing.objects.create(
        product=parent, connector=connector, channel_sku="05012345678900"
    )

    findings = by_code(run_check(connector, "parent_channel_sku"))

    finding = findings["parent_channel_sku_set"]
    assert finding.severity == Severity.WARNING
    assert finding.evidence["examples"] == [
        {"value": "05012345678900", "skus": ["TEE"]}
    ]
    assert finding.next_step.startswith("Move each value to the variant")
