from collections import Counter
from decimal import Decimal

import pytest

from connectors.thg.sandbox import services
from connectors.thg.sandbox.errors import SandboxError
from connectors.thg.sandbox.formats import check_digit, gtin14
from connectors.thg.sandbox.generator import TOWNS
from connectors.thg.sandbox.models import SandboxListing, SandboxOrderLine

from .conftest import LISTINGS

TOWN_BY_CITY = {town: (county, postcode) for town, county, postcode in TOWNS}


def _content(payload: dict) -> dict:
    """The parts of an order a seed decides: everything but ids and times."""
    return {
        key: value
        for key, value in payload.items()
        if key not in {"id", "reference", "created_at", "updated_at"}
    }


def test_generate_orders_same_seed_same_orders(account):
    other = services.ensure_account("junction-test", "second-client", "other-secret")
    services.add_listings(other, LISTINGS)

    first = services.generate_orders(account, 10, seed=2026)
    second = services.generate_orders(other, 10, seed=2026)

    assert [_content(o.payload) for o in first] == [_content(o.payload) for o in second]


def test_generate_orders_other_seed_other_orders(account):
    first = services.generate_orders(account, 5, seed=1)
    second = services.generate_orders(account, 5, seed=2)

    assert [_content(o.payload) for o in first] != [_content(o.payload) for o in second]


def test_generated_ids_and_references(account):
    orders = services.generate_orders(account, 3, seed=1)

    for order in orders:
        assert order.order_id.isdigit()
        assert order.payload["id"] == order.order_id
        assert order.payload["reference"] == f"THG-{order.order_id}"
    assert len({order.order_id for order in orders}) == 3


def test_generated_addresses_are_uk(account):
    orders = services.generate_orders(account, 40, seed=7)

    for order in orders:
        address = order.payload["shipping_address"]
        assert address["country_code"] == "GB"
        assert TOWN_BY_CITY[address["city"]] == (address["county"], address["postcode"])
        assert address["name"] == order.payload["customer"]["name"]
        assert address["line1"].split(" ", 1)[0].isdigit()
        assert order.payload["customer"]["email"].endswith("@example.test")


def test_generated_lines_and_totals(account):
    orders = services.generate_orders(account, 60, seed=7, unknown_upc_share=0)
    listing_upcs = {upc for upc, _ in LISTINGS}

    line_counts = Counter()
    for order in orders:
        lines = order.payload["lines"]
        line_counts[len(lines)] += 1
        assert [line["id"] for line in lines] == [
            str(n) for n in range(1, len(lines) + 1)
        ]
        assert len({line["upc"] for line in lines}) == len(lines)
        subtotal = Decimal(0)
        for line in lines:
            assert line["upc"] in listing_upcs
            assert 1 <= line["quantity"] <= 3
            assert line["status"] == "OPEN"
            assert line["unit_price"] == str(Decimal(line["unit_price"]))
            assert Decimal(line["unit_price"]).as_tuple().exponent == -2
            subtotal += Decimal(line["unit_price"]) * line["quantity"]
        totals = order.payload["totals"]
        shipping = Decimal("0.00") if subtotal >= Decimal("40") else Decimal("3.99")
        assert totals == {
            "subtotal": str(subtotal),
            "shipping": str(shipping),
            "total": str(subtotal + shipping),
        }
    assert set(line_counts) == {1, 2, 3, 4}


def test_generated_order_lines_stored(account):
    [order] = services.generate_orders(account, 1, seed=7)

    stored = SandboxOrderLine.objects.filter(order=order).order_by("pk")

    assert [
        (line.line_id, line.upc, line.quantity, str(line.unit_price)) for line in stored
    ] == [
        (line["id"], line["upc"], line["quantity"], line["unit_price"])
        for line in order.payload["lines"]
    ]


def test_unknown_upc_share_default(account):
    orders = services.generate_orders(account, 400, seed=99)
    known = {gtin14(upc) for upc, _ in LISTINGS}

    lines = [line for order in orders for line in order.payload["lines"]]
    unknown = [line for line in lines if gtin14(line["upc"]) not in known]

    assert 0.03 <= len(unknown) / len(lines) <= 0.07
    for line in unknown:
        assert len(line["upc"]) == 13
        assert int(line["upc"][-1]) == check_digit(line["upc"][:-1])
        assert line["sku"] == ""


def test_unknown_upc_share_zero_and_one(account):
    known = {gtin14(upc) for upc, _ in LISTINGS}

    none_unknown = services.generate_orders(account, 30, seed=5, unknown_upc_share=0)
    all_unknown = services.generate_orders(account, 30, seed=5, unknown_upc_share=1)

    assert all(
        gtin14(line["upc"]) in known
        for order in none_unknown
        for line in order.payload["lines"]
    )
    assert all(
        gtin14(line["upc"]) not in known
        for order in all_unknown
        for line in order.payload["lines"]
    )


def test_generate_orders_without_listings_raises(db):
    account = services.ensure_account("empty-realm", "client", "secret")

    with pytest.raises(SandboxError, match="no listings"):
        services.generate_orders(account, 1)

    assert account.orders.count() == 0


def test_generated_lines_use_listing_sku(account):
    services.add_listings(
        account, [(upc, title, f"SKU-{n}") for n, (upc, title) in enumerate(LISTINGS)]
    )

    orders = services.generate_orders(account, 10, seed=3, unknown_upc_share=0)

    skus = {line["sku"] for order in orders for line in order.payload["lines"]}
    assert skus <= {f"SKU-{n}" for n in range(len(LISTINGS))}
    assert skus


def test_ensure_account_idempotent(db):
    first = services.ensure_account("realm-a", "client", "secret-1")
    services.activate(first)

    second = services.ensure_account("realm-a", "client", "secret-1")

    assert second.pk == first.pk
    assert second.active is True
    assert second.client_secret == "secret-1"


def test_ensure_account_updates_secret(db):
    first = services.ensure_account("realm-a", "client", "secret-1")

    second = services.ensure_account("realm-a", "client", "secret-2", active=True)

    assert second.pk == first.pk
    first.refresh_from_db()
    assert first.client_secret == "secret-2"
    assert first.active is True


def test_add_listings_upc_forms_are_one_listing(account):
    services.add_listings(account, [("0036000291452", "Biscuit tin, renamed")])

    listing = SandboxListing.objects.get(gtin14="00036000291452")

    assert listing.upc == "036000291452"
    assert listing.title == "Biscuit tin, renamed"
    assert SandboxListing.objects.filter(account=account).count() == len(LISTINGS)


def test_add_listings_with_price(account):
    [listing] = services.add_listings(
        account, [("5012345678955", "Teapot, large", "", "21.5")]
    )

    assert listing.unit_price == Decimal("21.50")


def test_add_listings_bad_upc_raises(account):
    with pytest.raises(SandboxError, match="8 to 14 digits"):
        services.add_listings(account, [("50-1234", "Bad")])

    assert SandboxListing.objects.filter(account=account).count() == len(LISTINGS)


def test_set_warehouses_replaces_list(account):
    services.set_warehouses(account, [("WH-LEEDS-01", "Leeds North")])

    assert [(w.warehouse_id, w.name) for w in account.warehouses.order_by("pk")] == [
        ("WH-LEEDS-01", "Leeds North")
    ]
