"""Matching order lines by the connector's strategy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.matching import line_identifier, match_lines
from catalog.models import ChannelListing, IdentifierMapping
from connectors.models import Connector
from orders.models import OrderLine

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")


def line(**fields):
    return OrderLine(external_id="1", quantity=1, **fields)


def test_strategy_a_matches_master_sku():
    thg_a = f.connector(name="THG A", strategy="A")
    mug = f.product("MUG-BLUE")
    lines = [line(channel_sku=" MUG-BLUE ", upc=UPC_A), line(channel_sku="mug-blue")]

    matched = match_lines(thg_a, lines)

    assert matched == 1
    assert [item.product_id for item in lines] == [mug.pk, None]


def test_strategy_b_matches_any_upc_length():
    thg_b = f.connector(name="THG B", strategy="B")
    mug = f.product("MUG-BLUE")
    ChannelListing.objects.create(connector=thg_b, product=mug, channel_sku="0" + UPC_A)
    lines = [line(upc=UPC_A), line(upc="0" + UPC_A), line(upc="5012345678917")]

    match_lines(thg_b, lines)

    assert [item.product_id for item in lines] == [mug.pk, mug.pk, None]


def test_strategy_c_matches_mapping_table():
    thg_c = f.connector(name="THG C", strategy="C")
    mug = f.product("MUG-BLUE")
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=mug
    )
    lines = [line(upc=UPC_A), line(upc="", channel_sku="0" + UPC_A)]

    match_lines(thg_c, lines)

    assert [item.product_id for item in lines] == [mug.pk, mug.pk]


def test_strategy_c_ignores_other_connectors_mappings():
    thg_c = f.connector(name="THG C", strategy="C")
    other = f.connector(name="THG C2", strategy="C")
    mug = f.product("MUG-BLUE")
    IdentifierMapping.objects.create(
        connector=other, channel_identifier="0" + UPC_A, product=mug
    )
    lines = [line(upc=UPC_A)]

    match_lines(thg_c, lines)

    assert lines[0].product_id is None


def test_tiktok_matches_seller_sku():
    tiktok = f.connector(name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="C")
    mug = f.product("MUG-BLUE")
    lines = [line(seller_sku="MUG-BLUE", upc=UPC_A)]

    match_lines(tiktok, lines)

    assert lines[0].product_id == mug.pk
    assert line_identifier(tiktok, lines[0]) == "MUG-BLUE"


def test_line_identifier_normalizes_upc():
    thg_c = f.connector(name="THG C", strategy="C")

    assert line_identifier(thg_c, line(upc=UPC_A)) == "0" + UPC_A
    assert line_identifier(thg_c, line(upc=" bad ")) == "bad"


@pytest.mark.parametrize("count", [1, 50])
def test_match_lines_one_query_per_page(count):
    thg_b = f.connector(name="THG B", strategy="B")
    lines = [line(upc=f.upc(f"5000000{index:05d}")) for index in range(count)]

    with CaptureQueriesContext(connection) as queries:
        match_lines(thg_b, lines)

    assert len(queries.captured_queries) == 1
