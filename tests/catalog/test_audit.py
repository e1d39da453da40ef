"""The identifier audit, its command and the match preview."""

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.urls import reverse

from catalog.audit import Kind, audit_identifiers, preview_matches
from catalog.models import ChannelListing, IdentifierMapping
from connectors.models import Connector
from orders.models import OrderLine

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")
UPC_B = f.upc("501234567891")
UPC_UNMAPPED = f.upc("500000000001")


@pytest.fixture
def catalog():
    """A catalog with one problem of each kind (and a few clean products)."""
    thg_b = f.connector(name="THG B", strategy="B")
    thg_c = f.connector(name="THG C", strategy="C")
    tiktok = f.connector(name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="A")
    items = {
        "mug": f.product("MUG-BLUE", upc_value="0" + UPC_A),
        "mug_twin": f.product("MUG-BLUE-2", upc_value="0" + UPC_A),
        "lower": f.product("mug-blue"),
        "cup": f.product("CUP"),
        "parent": f.product("TEE"),
    }
    items["tee_s"] = f.product("TEE-S", parent=items["parent"])
    items["inactive"] = f.product("OLD", active=False)

    # Strategy B: the 14- and 13-digit forms of one UPC on two products, a
    # Channel SKU on a parent, and a mapping the strategy never reads.
    ChannelListing.objects.create(
        connector=thg_b, product=items["mug"], channel_sku="0" + UPC_B
    )
    ChannelListing.objects.create(
        connector=thg_b, product=items["mug_twin"], channel_sku=UPC_B
    )
    ChannelListing.objects.create(
        connector=thg_b, product=items["parent"], channel_sku="0" + UPC_A
    )
    IdentifierMapping.objects.create(
        connector=thg_b, channel_identifier="0" + UPC_A, product=items["cup"]
    )
    # Strategy C: a Channel SKU it never reads; every leaf but CUP unmapped.
    ChannelListing.objects.create(
        connector=thg_c, product=items["cup"], channel_sku="CUP-THG"
    )
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=items["cup"]
    )
    # TikTok: a seller SKU that matches nothing, one that matches now, and
    # one too old to count.
    order = f.order(tiktok, "T-1")
    OrderLine.objects.create(
        order=order,
        external_id="1",
        seller_sku="Cup ",
        channel_sku_id="SKU9",
        quantity=1,
    )
    OrderLine.objects.create(
        order=order, external_id="2", seller_sku="MUG-BLUE", quantity=1
    )
    old = f.order(tiktok, "T-0", days_ago=90)
    OrderLine.objects.create(order=old, external_id="1", seller_sku="GONE", quantity=1)
    ChannelListing.objects.create(
        connector=tiktok, product=items["cup"], channel_sku_id="SKU9"
    )
    return {"thg_b": thg_b, "thg_c": thg_c, "tiktok": tiktok, **items}


def findings_of(kind, connector=None):
    return [
        (finding.connector_id, finding.value, finding.product_ids)
        for finding in audit_identifiers(connector)
        if finding.kind == kind
    ]


def test_audit_finds_shared_upc(catalog):
    assert findings_of(Kind.DUPLICATE_UPC) == [
        (None, "0" + UPC_A, (catalog["mug"].pk, catalog["mug_twin"].pk))
    ]


def test_audit_finds_shared_channel_sku(catalog):
    assert findings_of(Kind.DUPLICATE_CHANNEL_SKU) == [
        (
            catalog["thg_b"].pk,
            "0" + UPC_B,
            (catalog["mug"].pk, catalog["mug_twin"].pk),
        )
    ]


def test_audit_finds_similar_skus(catalog):
    found = findings_of(Kind.SIMILAR_SKUS)

    assert found == [(None, "MUG-BLUE", (catalog["mug"].pk, catalog["lower"].pk))]


def test_audit_finds_non_canonical_channel_sku(catalog):
    assert findings_of(Kind.INVALID_UPC) == [
        (catalog["thg_b"].pk, UPC_B, (catalog["mug_twin"].pk,))
    ]


def test_audit_finds_products_without_identifier(catalog):
    missing = findings_of(Kind.MISSING_IDENTIFIER)

    assert missing == [
        (catalog["thg_b"].pk, "CUP", (catalog["cup"].pk,)),
        (catalog["thg_b"].pk, "TEE-S", (catalog["tee_s"].pk,)),
        (catalog["thg_b"].pk, "mug-blue", (catalog["lower"].pk,)),
        (catalog["thg_c"].pk, "MUG-BLUE", (catalog["mug"].pk,)),
        (catalog["thg_c"].pk, "MUG-BLUE-2", (catalog["mug_twin"].pk,)),
        (catalog["thg_c"].pk, "TEE-S", (catalog["tee_s"].pk,)),
        (catalog["thg_c"].pk, "mug-blue", (catalog["lower"].pk,)),
    ]


def test_audit_finds_unused_identifiers(catalog):
    assert findings_of(Kind.UNUSED_IDENTIFIER) == [
        (catalog["thg_b"].pk, "0" + UPC_A, (catalog["cup"].pk,)),
        (catalog["thg_c"].pk, "CUP-THG", (catalog["cup"].pk,)),
    ]


def test_audit_finds_channel_sku_on_parent(catalog):
    assert findings_of(Kind.PARENT_CHANNEL_SKU) == [
        (catalog["thg_b"].pk, "0" + UPC_A, (catalog["parent"].pk,))
    ]


def test_audit_finds_unknown_tiktok_seller_sku(catalog):
    findings = [
        finding
        for finding in audit_identifiers(catalog["tiktok"])
        if finding.kind == Kind.UNKNOWN_SELLER_SKU
    ]

    assert [(x.value, x.product_ids) for x in findings] == [
        ("Cup", (catalog["cup"].pk,))
    ]
    assert "The catalog has 'CUP'" in findings[0].message


def test_audit_one_connector_skips_the_others(catalog):
    kinds_by_connector = {
        finding.connector_id for finding in audit_identifiers(catalog["thg_c"])
    }

    assert kinds_by_connector == {None, catalog["thg_c"].pk}


def test_audit_clean_catalog_finds_nothing():
    thg_b = f.connector(name="THG B", strategy="B")
    mug = f.product("MUG-BLUE", upc_value="0" + UPC_A)
    ChannelListing.objects.create(connector=thg_b, product=mug, channel_sku="0" + UPC_A)

    assert audit_identifiers() == []


def test_audit_command_lists_problems_and_fails(catalog, capsys):
    with pytest.raises(CommandError) as info:
        call_command("audit_identifiers")

    out = capsys.readouterr().out
    assert info.value.returncode == 1
    assert str(info.value).startswith("Identifier audit found 15 problems (")
    assert (
        f"[duplicate_upc] catalog | 0{UPC_A} | MUG-BLUE (#{catalog['mug'].pk}), "
        f"MUG-BLUE-2 (#{catalog['mug_twin'].pk}) | UPC 0{UPC_A} is shared by"
    ) in out
    assert "[unknown_seller_sku] TikTok | Cup |" in out
    assert len(out.splitlines()) == 15


def test_audit_command_exit_status(catalog):
    with pytest.raises(SystemExit) as info:
        execute_from_command_line(["manage.py", "audit_identifiers", "THG C"])

    assert info.value.code == 1


def test_audit_command_clean_exits_zero(capsys):
    f.connector(name="THG A", strategy="A")
    f.product("MUG-BLUE")

    call_command("audit_identifiers", "THG A")

    assert capsys.readouterr().out == "No identifier problems found.\n"


def test_audit_admin_page(admin_client, catalog):
    response = admin_client.get(
        reverse("admin:catalog_product_audit"), {"connector": catalog["thg_b"].pk}
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["total"] == 9
    assert "Channel SKU on a parent product (1)" in content
    assert reverse("admin:catalog_product_change", args=[catalog["parent"].pk]) in (
        content
    )


def test_audit_page_refused_without_view_permission(client, db):
    from .conftest import staff_user

    client.force_login(staff_user("nobody", []))

    response = client.get(reverse("admin:catalog_product_audit"))

    assert response.status_code == 403


@pytest.fixture
def preview_orders():
    thg_c = f.connector(name="THG C", strategy="C")
    mug = f.product("MUG-BLUE")
    order = f.order(thg_c, "O-1")
    OrderLine.objects.create(
        order=order, external_id="1", upc=UPC_A, quantity=1, product=mug
    )
    OrderLine.objects.create(order=order, external_id="2", upc=UPC_B, quantity=1)
    OrderLine.objects.create(order=order, external_id="3", upc=UPC_UNMAPPED, quantity=1)
    old = f.order(thg_c, "O-0", days_ago=60)
    OrderLine.objects.create(order=old, external_id="1", upc=UPC_B, quantity=1)
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_B, product=mug
    )
    return thg_c


def test_match_preview_counts_recent_lines(preview_orders):
    preview = preview_matches(preview_orders)

    assert preview.lines == 3
    assert preview.matched_before == 1
    assert preview.matched_now == 2
    assert preview.newly_matched == 1
    assert preview.unmatched_now == 1
    assert preview.top_unmatched() == [("0" + UPC_UNMAPPED, 1)]
    assert OrderLine.objects.filter(product__isnull=False).count() == 1


def test_match_preview_admin_page(admin_client, preview_orders):
    response = admin_client.get(
        reverse("admin:catalog_product_match_preview", args=[preview_orders.pk])
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert '<td class="matched-now">2</td>' in content
    assert '<td class="newly-matched">1</td>' in content
