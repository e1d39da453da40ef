from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connectors.records import Address, OrderLineRecord, StockItemResult
from connectors.tiktok import mapping


def _sample_order(sample) -> dict:
    return sample("order_202309_orders_search")["data"]["orders"][0]


def _line_item(**fields) -> dict:
    item = {
        "id": "577000000000000001",
        "sku_id": "1729592969712207012",
        "seller_sku": "SOCK-RED",
        "product_name": "Socks",
        "sku_name": "Red",
        "sale_price": "4.50",
        "display_status": "AWAITING_SHIPMENT",
        "package_status": "TO_FULFILL",
    }
    item.update(fields)
    return item


def test_order_record_sample_ids_and_times(sample):
    record = mapping.order_record(_sample_order(sample), hold_minutes=60)

    assert record.external_id == "576461413038785752"
    assert record.channel_status == "UNPAID"
    assert record.placed_at == datetime(2021, 4, 28, 12, 6, 1, tzinfo=UTC)
    assert record.updated_at == datetime.fromtimestamp(1619621355, tz=UTC)
    assert record.hold_until == record.placed_at + timedelta(minutes=60)
    assert record.channel_warehouse_id == "6955005333819123123"


def test_order_record_sample_money_is_decimal(sample):
    record = mapping.order_record(_sample_order(sample))

    assert record.currency == "IDR"
    assert record.subtotal == Decimal("5000")
    assert record.shipping_total == Decimal("5000")
    assert record.total == Decimal("5000")


def test_order_record_sample_unpaid_not_routable(sample):
    record = mapping.order_record(_sample_order(sample))

    assert record.routable is False
    assert record.cancelled is False
    assert record.fulfilled_by_channel is False
    assert record.hold_until is None


def test_order_record_sample_address(sample):
    record = mapping.order_record(_sample_order(sample))

    # The sample's L0 iso_code "VAN" is not an alpha-2 code, so region_code wins.
    assert record.address == Address(
        name="Sam Rivera",
        line1="TikTok 5800 bristol Pkwy",
        line2="Suite 100",
        city="Ribbleton",
        region="",
        postal_code="95110",
        country_code="US",
    )
    assert record.customer_name == "Sam Rivera"
    assert record.customer_email == "v2b2V5@chat.seller.tiktok.com"


def test_order_record_sample_combined_listing_line(sample):
    record = mapping.order_record(_sample_order(sample))

    # The line is a combined listing: its component SKU is what ships, and
    # the component's seller SKU carries a trailing space in the sample.
    assert record.lines == (
        OrderLineRecord(
            external_id="2729382476852921123",
            quantity=1,
            seller_sku="yellow-24-XL",
            channel_sku_id="2729382476852921123",
            title="Women's Winter Crochet Clothes / Iphone",
            unit_price=None,
            cancelled=False,
        ),
    )


def test_order_record_sample_keeps_raw(sample):
    order = _sample_order(sample)

    record = mapping.order_record(order)

    assert record.raw == order


def test_order_lines_count_line_items_per_sku():
    items = [
        _line_item(id="1"),
        _line_item(id="2"),
        _line_item(id="3", sku_id="99", seller_sku=" SOCK-BLUE ", sale_price="5"),
    ]

    lines = mapping.order_lines(items)

    assert [(line.external_id, line.quantity) for line in lines] == [
        ("1729592969712207012", 2),
        ("99", 1),
    ]
    assert lines[0].unit_price == Decimal("4.50")
    assert lines[1].seller_sku == "SOCK-BLUE"


def test_order_lines_use_quantity_field_when_present():
    lines = mapping.order_lines([_line_item(quantity=3), _line_item(id="2")])

    assert lines[0].quantity == 4


def test_order_lines_cancelled_units():
    items = [
        _line_item(id="1", display_status="CANCELLED"),
        _line_item(id="2"),
        _line_item(id="3", sku_id="99", package_status="CANCELLED"),
    ]

    lines = mapping.order_lines(items)

    assert (lines[0].quantity, lines[0].cancelled) == (1, False)
    assert (lines[1].quantity, lines[1].cancelled) == (1, True)


def test_order_record_statuses():
    base = {"id": "1", "create_time": 1700000000, "update_time": 1700000100}
    cases = {
        "UNPAID": (False, False),
        "ON_HOLD": (False, False),
        "AWAITING_SHIPMENT": (True, False),
        "CANCELLED": (True, True),
        "CANCEL": (True, True),
    }
    for status, (routable, cancelled) in cases.items():
        record = mapping.order_record({**base, "status": status})
        assert (status, record.routable) == (status, routable)
        assert (status, record.cancelled) == (status, cancelled)


def test_order_record_fulfilled_by_tiktok():
    order = {
        "id": "1",
        "status": "AWAITING_SHIPMENT",
        "create_time": 1700000000,
        "fulfillment_type": "FULFILLMENT_BY_TIKTOK",
    }

    record = mapping.order_record(order)

    assert record.fulfilled_by_channel is True
    assert record.updated_at == record.placed_at


def test_order_record_without_address_unpaid():
    order = {"id": "1", "status": "UNPAID", "create_time": 1700000000}

    record = mapping.order_record(order)

    assert record.address == Address()
    assert record.customer_name == ""


def test_recipient_address_district_levels():
    address = {
        "name": "Kim Lee",
        "address_line1": "1 High Street",
        "address_line2": "",
        "address_detail": "Flat 2",
        "postal_code": "SW1A 1AA",
        "region_code": "GB",
        "district_info": [
            {
                "address_level": "L0",
                "address_level_name": "Country",
                "address_name": "United Kingdom",
                "iso_code": "GB",
            },
            {
                "address_level": "L1",
                "address_level_name": "State",
                "address_name": "England",
            },
            {
                "address_level": "L3",
                "address_level_name": "City",
                "address_name": "London",
            },
        ],
    }

    result = mapping.recipient_address(address)

    assert result == Address(
        name="Kim Lee",
        line1="1 High Street",
        line2="Flat 2",
        city="London",
        region="England",
        postal_code="SW1A 1AA",
        country_code="GB",
    )


def test_return_record_groups_lines_per_sku():
    return_order = {
        "return_id": "4035000000000000001",
        "order_id": "576461413038785752",
        "return_status": "AWAITING_BUYER_SHIP",
        "return_type": "RETURN_AND_REFUND",
        "return_reason": "ecom_order_delivered_refund_and_return_reason_damaged",
        "return_reason_text": "Damaged item",
        "create_time": 1700000000,
        "update_time": 1700000500,
        "return_line_items": [
            {
                "return_line_item_id": "1",
                "order_line_item_id": "11",
                "sku_id": "55",
                "seller_sku": "SOCK-RED ",
            },
            {
                "return_line_item_id": "2",
                "order_line_item_id": "12",
                "sku_id": "55",
                "seller_sku": "SOCK-RED ",
            },
        ],
    }

    record = mapping.return_record(return_order)

    assert record.external_id == "4035000000000000001"
    assert record.order_external_id == "576461413038785752"
    assert record.channel_status == "AWAITING_BUYER_SHIP"
    assert record.reason == "Damaged item"
    assert record.updated_at == datetime.fromtimestamp(1700000500, tz=UTC)
    assert [(line.order_line_external_id, line.quantity) for line in record.lines] == [
        ("55", 2)
    ]
    assert record.lines[0].seller_sku == "SOCK-RED"


def test_product_sku_records_sample(sample):
    product = sample("product_202502_products_search")["data"]["products"][0]

    records = mapping.product_sku_records(product)

    assert records == [
        mapping.ProductSkuRecord(
            product_id="1729592969712207008",
            sku_id="1729592969712207012",
            seller_sku="Color-Red-XM01",
            product_title="Short Boat Invisible Socks",
            product_status="ACTIVATE",
            sku_status="DEACTIVATED",
            currency="USD",
            sale_price=Decimal("121.11"),
            inventory={"7068517275539719942": 999},
        )
    ]


def test_product_sku_records_trim_seller_sku():
    product = {"id": "1", "skus": [{"id": "2", "seller_sku": " ABC-1 \t"}]}

    records = mapping.product_sku_records(product)

    assert records[0].seller_sku == "ABC-1"


def test_warehouse_record_sample(sample):
    warehouse = sample("logistics_202309_warehouses")["data"]["warehouses"][0]

    record = mapping.warehouse_record(warehouse)

    assert record.id == "7000714532876273410"
    assert record.name == "Guangzhou"
    assert record.is_default is True
    assert record.is_sales_warehouse is True
    assert record.district == "HuaDu"
    assert record.address == Address(
        name="Lee",
        line1="Bairro/Distrito",
        line2="Caminho Trinta e Três, 3, 11 floor",
        city="GuanZhou",
        region="GuangDong",
        postal_code="510000",
        country_code="CN",
    )


def test_inventory_results_sample_partial_failure(sample):
    data = sample("product_202309_inventory_update")["data"]
    pushed = {
        "1729592969712207013": {"7068517275539719942": 5},
        "1729592969712207012": {"7068517275539719942": 7},
    }

    results = mapping.inventory_results(pushed, data)

    assert results == [
        StockItemResult(
            identifier="1729592969712207013@7068517275539719942",
            accepted=False,
            error_code="12052097",
            error_detail="The warehouse does not exist",
        ),
        StockItemResult(
            identifier="1729592969712207012@7068517275539719942", accepted=True
        ),
    ]


def test_inventory_results_other_warehouse_gets_sku_error(sample):
    data = sample("product_202309_inventory_update")["data"]
    pushed = {"1729592969712207013": {"7068517275539719942": 5, "700": 1}}

    results = mapping.inventory_results(pushed, data)

    assert results[1] == StockItemResult(
        identifier="1729592969712207013@700",
        accepted=False,
        error_code="12052990",
        error_detail="Check failed",
    )


def test_inventory_results_all_accepted_without_errors():
    results = mapping.inventory_results({"1": {"2": 3}}, {})

    assert results == [StockItemResult(identifier="1@2", accepted=True)]


def test_inventory_update_body_shape():
    body = mapping.inventory_update_body({"1729592969712207013": {"7068": 5}})

    assert body == {
        "skus": [
            {
                "id": "1729592969712207013",
                "inventory": [{"warehouse_id": "7068", "quantity": 5}],
            }
        ]
    }


def test_shop_record_sample(sample):
    shop = sample("authorization_202309_shops")["data"]["shops"][0]

    record = mapping.shop_record(shop)

    assert record == mapping.ShopRecord(
        id="7000714532876273420",
        name="Maomao beauty shop",
        region="GB",
        cipher="GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3",
        seller_type="CROSS_BORDER",
        code="CNGBCBA4LLU8",
    )


def test_order_status_rank_moves_forward():
    assert mapping.order_status_rank("UNPAID") < mapping.order_status_rank(
        "AWAITING_SHIPMENT"
    )
    assert mapping.order_status_rank("DELIVERED") < mapping.order_status_rank(
        "COMPLETED"
    )
