from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.thg import mapping

ORDER = {
    "id": "100245871",
    "reference": "THG-100245871",
    "status": "NEW",
    "created_at": "2026-11-30T10:15:00Z",
    "updated_at": "2026-11-30T10:16:00Z",
    "currency": "GBP",
    "customer": {"name": "A. Buyer", "email": "buyer@example.test"},
    "shipping_address": {
        "name": "A. Buyer",
        "line1": "1 High Street",
        "line2": "",
        "city": "Leeds",
        "county": "West Yorkshire",
        "postcode": "LS1 4AP",
        "country_code": "GB",
    },
    "lines": [
        {
            "id": "1",
            "upc": "5012345678900",
            "sku": "MUG-BLUE",
            "title": "Blue mug",
            "quantity": 2,
            "unit_price": "9.99",
            "status": "OPEN",
        },
        {
            "id": "2",
            "upc": "5012345678917",
            "sku": "",
            "title": "Red mug",
            "quantity": 1,
            "unit_price": "8.50",
            "status": "CANCELLED",
        },
    ],
    "totals": {"subtotal": "19.98", "shipping": "3.99", "total": "23.97"},
}


def test_order_maps_header_fields():
    record = mapping.order_from_payload(ORDER)

    assert record.external_id == "100245871"
    assert record.reference == "THG-100245871"
    assert record.channel_status == "NEW"
    assert record.placed_at == datetime(2026, 11, 30, 10, 15, tzinfo=UTC)
    assert record.updated_at == datetime(2026, 11, 30, 10, 16, tzinfo=UTC)
    assert record.currency == "GBP"
    assert record.total == Decimal("23.97")
    assert record.shipping_total == Decimal("3.99")
    assert record.customer_email == "buyer@example.test"
    assert record.cancelled is False


def test_order_maps_address():
    address = mapping.order_from_payload(ORDER).address

    assert address.line1 == "1 High Street"
    assert address.region == "West Yorkshire"
    assert address.postal_code == "LS1 4AP"
    assert address.country_code == "GB"


def test_order_lines_keep_identifiers_and_cancellation():
    first, second = mapping.order_from_payload(ORDER).lines

    assert first.external_id == "1"
    assert first.upc == "5012345678900"
    assert first.channel_sku == "MUG-BLUE"
    assert first.quantity == 2
    assert first.unit_price == Decimal("9.99")
    assert first.cancelled is False
    assert second.cancelled is True
    assert second.channel_sku == ""


def test_cancelled_order_is_cancelled():
    record = mapping.order_from_payload({**ORDER, "status": "CANCELLED"})

    assert record.cancelled is True


def test_return_maps_lines():
    payload = {
        "id": "R-5521",
        "order_id": "100245871",
        "status": "RECEIVED",
        "reason": "Changed mind",
        "created_at": "2026-12-01T09:00:00Z",
        "updated_at": "2026-12-02T09:00:00Z",
        "lines": [
            {
                "line_id": "1",
                "upc": "5012345678900",
                "quantity": 1,
                "reason": "Changed mind",
                "condition": "GOOD",
            }
        ],
    }

    record = mapping.return_from_payload(payload)

    assert record.external_id == "R-5521"
    assert record.order_external_id == "100245871"
    assert record.channel_status == "RECEIVED"
    assert record.lines[0].order_line_external_id == "1"
    assert record.lines[0].condition == "GOOD"


def test_stock_results_keep_rejections():
    results = mapping.stock_results(
        [
            {"upc": "5012345678900", "status": "ACCEPTED"},
            {
                "upc": "5000000000001",
                "status": "REJECTED",
                "error": {
                    "code": "UnknownProduct",
                    "detail": "No listing has this UPC",
                },
            },
        ]
    )

    assert results[0].accepted is True
    assert results[1].accepted is False
    assert results[1].error_code == "UnknownProduct"
    assert results[1].error_detail == "No listing has this UPC"


def test_location_pairs_lines_and_commas():
    pairs = mapping.parse_location_pairs(
        "Leeds:WH-LEEDS-01\n Manchester : WH-MCR-02, Bath:WH-3"
    )

    assert pairs == [
        ("Leeds", "WH-LEEDS-01"),
        ("Manchester", "WH-MCR-02"),
        ("Bath", "WH-3"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Leeds WH-1", "'Leeds WH-1' has no colon"),
        (":WH-1", "':WH-1' has an empty name"),
        ("Leeds:", "'Leeds:' has an empty id"),
        ("Leeds:WH-1, Bath:WH-1", "'Bath:WH-1' repeats id 'WH-1'"),
        ("Leeds:WH-1, leeds:WH-2", "'leeds:WH-2' repeats the name 'leeds'"),
    ],
)
def test_location_pairs_name_each_bad_pair(text, expected):
    with pytest.raises(ValueError) as error:
        mapping.parse_location_pairs(text)

    assert expected in str(error.value)


def test_location_pairs_report_every_problem():
    with pytest.raises(ValueError) as error:
        mapping.parse_location_pairs("A, :x, B:")

    message = str(error.value)
    assert "'A' has no colon" in message
    assert "':x' has an empty name" in message
    assert "'B:' has an empty id" in message
