from decimal import Decimal

import pytest

from catalog import gtin


def test_normalize_pads_every_length_to_fourteen():
    assert gtin.normalize("5012345678900") == "05012345678900"
    assert gtin.normalize("012345678905") == "00012345678905"
    assert gtin.normalize("00012345678905") == "00012345678905"
    assert gtin.normalize("96385074") == "00000096385074"


def test_normalize_three_lengths_equal():
    forms = ["012345678905", "0012345678905", "00012345678905"]

    assert {gtin.normalize(value) for value in forms} == {"00012345678905"}


def test_normalize_trims_spaces():
    assert gtin.normalize("  5012345678900\u00a0") == "05012345678900"


def test_normalize_xlsx_int_cell():
    assert gtin.normalize(5012345678900) == "05012345678900"


def test_normalize_xlsx_float_cell():
    assert gtin.normalize(5012345678900.0) == "05012345678900"


def test_normalize_decimal_cell():
    assert gtin.normalize(Decimal("5012345678900")) == "05012345678900"


def test_normalize_number_text_with_decimals():
    assert gtin.normalize("5012345678900.0") == "05012345678900"
    assert gtin.normalize("5012345678900,00") == "05012345678900"


def test_normalize_rejects_float_with_fraction():
    with pytest.raises(gtin.InvalidGTIN, match="fractional part"):
        gtin.normalize(5012345678900.5)


def test_normalize_rejects_scientific_notation():
    with pytest.raises(gtin.InvalidGTIN, match="scientific notation") as info:
        gtin.normalize("5.01235E+12")

    assert "Format the column as text" in str(info.value)


def test_normalize_rejects_lost_leading_zeros_text():
    with pytest.raises(gtin.InvalidGTIN, match="lost its leading zeros") as info:
        gtin.normalize("12345678905")

    assert "format the column as text" in str(info.value)


def test_normalize_rejects_lost_leading_zeros_number():
    with pytest.raises(gtin.InvalidGTIN, match="lost its leading zeros"):
        gtin.normalize(12345678905)


def test_normalize_rejects_bad_check_digit():
    with pytest.raises(gtin.InvalidGTIN, match=r"invalid check digit \(expected 0\)"):
        gtin.normalize("5012345678901")


def test_normalize_rejects_letters():
    with pytest.raises(gtin.InvalidGTIN, match="digits only"):
        gtin.normalize("50123456789AB")


def test_normalize_rejects_booleans():
    with pytest.raises(gtin.InvalidGTIN):
        gtin.normalize(True)


def test_normalize_rejects_non_ascii_digits():
    with pytest.raises(gtin.InvalidGTIN, match="digits only"):
        gtin.normalize("５０１２３４５６７８９００")


def test_is_valid():
    assert gtin.is_valid("5012345678900") is True
    assert gtin.is_valid("5012345678901") is False


def test_as_ean13():
    assert gtin.as_ean13("05012345678900") == "5012345678900"
    assert gtin.as_ean13("15012345678907") == "15012345678907"
