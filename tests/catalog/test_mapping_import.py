"""The mapping import service, with files as people produce them."""

import pytest

from catalog.mapping_import import import_file
from catalog.models import ChannelListing, IdentifierMapping
from connectors.models import Connector

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")  # 5012345678900
UPC_B = f.upc("501234567891")
UPC_C = f.upc("501234567892")


@pytest.fixture
def thg_c():
    return f.connector(name="THG C", strategy="C")


@pytest.fixture
def thg_b():
    return f.connector(name="THG B", strategy="B")


@pytest.fixture
def products():
    return {sku: f.product(sku) for sku in ("MUG-BLUE", "MUG-RED", "CUP")}


def mappings(connector):
    return sorted(
        IdentifierMapping.objects.filter(connector=connector).values_list(
            "channel_identifier", "product__sku"
        )
    )


def channel_skus(connector):
    return sorted(
        ChannelListing.objects.filter(
            connector=connector, channel_sku__isnull=False
        ).values_list("channel_sku", "product__sku")
    )


def test_import_csv_with_bom(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n", bom=True)

    report = import_file(thg_c, content)

    assert report.file_error == ""
    assert report.errors == []
    assert report.created == 1
    assert report.written is True
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_csv_windows_line_endings(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-RED,{UPC_B}\n", crlf=True)

    report = import_file(thg_c, content)

    assert report.total_rows == 2
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE"), ("0" + UPC_B, "MUG-RED")]


def test_import_semicolon_delimiter(thg_c, products):
    content = f.csv_bytes(f"sku;upc\nMUG-BLUE;{UPC_A}\nMUG-RED;{UPC_B}\n")

    report = import_file(thg_c, content)

    assert report.created == 2
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE"), ("0" + UPC_B, "MUG-RED")]


def test_import_tab_delimiter(thg_c, products):
    content = f.csv_bytes(f"sku\tupc\nMUG-BLUE\t{UPC_A}\n")

    report = import_file(thg_c, content)

    assert report.created == 1
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_header_case_and_spaces(thg_c, products):
    content = f.csv_bytes(f"  SKU , Upc \nMUG-BLUE,{UPC_A}\n")

    report = import_file(thg_c, content)

    assert report.errors == []
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_cell_values_with_spaces(thg_c, products):
    content = f.csv_bytes(f"sku,upc\n  MUG-BLUE  ,  {UPC_A}  \n")

    report = import_file(thg_c, content)

    assert report.errors == []
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_utf16_text_with_bom(thg_c, products):
    content = f"sku\tupc\r\nMUG-BLUE\t{UPC_A}\r\n".encode("utf-16")

    report = import_file(thg_c, content)

    assert report.errors == []
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_xlsx_numeric_cells(thg_c, products):
    f.product("12345")
    content = f.xlsx_bytes(
        [
            ["SKU", "UPC"],
            ["MUG-BLUE", int(UPC_A)],
            ["MUG-RED", float(UPC_B)],
            [12345, UPC_C],
        ]
    )

    report = import_file(thg_c, content)

    assert report.errors == []
    assert report.created == 3
    assert mappings(thg_c) == [
        ("0" + UPC_A, "MUG-BLUE"),
        ("0" + UPC_B, "MUG-RED"),
        ("0" + UPC_C, "12345"),
    ]


def test_import_xlsx_lost_leading_zeros(thg_c, products):
    content = f.xlsx_bytes([["sku", "upc"], ["MUG-BLUE", 12345678905]])

    report = import_file(thg_c, content)

    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.line, error.column, error.value) == (2, "upc", "12345678905")
    assert "lost its leading zeros" in error.message
    assert "format the column as text" in error.message
    assert mappings(thg_c) == []


def test_import_scientific_notation_rejected(thg_c, products):
    content = f.csv_bytes("sku,upc\nMUG-BLUE,5.01235E+12\n")

    report = import_file(thg_c, content)

    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (2, "upc", "5.01235E+12")
    ]
    assert "scientific notation" in report.errors[0].message
    assert mappings(thg_c) == []


def test_import_bad_check_digit_rejected(thg_c, products):
    content = f.csv_bytes("sku,upc\nMUG-BLUE,5012345678901\n")

    report = import_file(thg_c, content)

    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (2, "upc", "5012345678901")
    ]
    assert "invalid check digit" in report.errors[0].message
    assert mappings(thg_c) == []


def test_import_upc_with_two_skus(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nCUP,{UPC_C}\nMUG-RED,0{UPC_A}\n")

    report = import_file(thg_c, content)

    assert [(e.line, e.column) for e in report.errors] == [(2, "upc"), (4, "upc")]
    assert "'MUG-BLUE' on line 2, 'MUG-RED' on line 4" in report.errors[0].message
    assert report.rejected == 2
    assert mappings(thg_c) == []


def test_import_identical_rows_merged_with_warning(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-BLUE,0{UPC_A}\n")

    report = import_file(thg_c, content)

    assert report.errors == []
    assert report.merged == 1
    assert report.created == 1
    assert report.warnings == [
        f"Line 3 repeats line 2 (sku 'MUG-BLUE', upc '0{UPC_A}'); the rows were merged."
    ]
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_unknown_sku_is_row_error(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nNO-SUCH,{UPC_A}\n")

    report = import_file(thg_c, content)

    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (2, "sku", "NO-SUCH")
    ]
    assert "No product has the SKU 'NO-SUCH'" in report.errors[0].message
    assert mappings(thg_c) == []


def test_import_unknown_sku_suggests_case_spelling(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nmug-blue,{UPC_A}\n")

    report = import_file(thg_c, content)

    assert "The catalog has 'MUG-BLUE'" in report.errors[0].message


def test_import_extra_columns_ignored_with_warning(thg_c, products):
    content = f.csv_bytes(f"sku,upc,Name,price\nMUG-BLUE,{UPC_A},Mug,4.99\n")

    report = import_file(thg_c, content)

    assert report.errors == []
    assert report.warnings == [
        "Ignored the columns 'Name', 'price': the file needs only sku and upc."
    ]
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_missing_column_is_file_error(thg_c, products):
    content = f.csv_bytes(f"sku,barcode\nMUG-BLUE,{UPC_A}\n")

    report = import_file(thg_c, content)

    assert report.file_error == (
        "The file has no column named 'upc'. Its first row must name the "
        "columns sku and upc (found: 'sku', 'barcode')."
    )
    assert mappings(thg_c) == []


def test_import_header_only_is_file_error(thg_c, products):
    report = import_file(thg_c, f.csv_bytes("sku,upc\n"))

    assert "no data rows" in report.file_error


def test_import_not_utf8_is_file_error(thg_c, products):
    report = import_file(thg_c, "sku,upc\nMÜG,1\n".encode("cp1252"))

    assert "not UTF-8" in report.file_error
    assert "CSV UTF-8" in report.file_error


def test_import_all_or_nothing_by_default(thg_c, products):
    content = f.csv_bytes(
        f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-RED,5012345678901\nCUP,{UPC_C}\n"
    )

    report = import_file(thg_c, content)

    assert report.blocked is True
    assert report.written is False
    assert report.rejected == 1
    assert report.summary() == (
        "Nothing written to THG C: 1 of 3 rows rejected. Fix them and import "
        "the file again, or choose to skip bad rows."
    )
    assert IdentifierMapping.objects.count() == 0


def test_import_skip_bad_rows_writes_good_rows(thg_c, products):
    content = f.csv_bytes(
        f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-RED,5012345678901\nNOPE,{UPC_B}\nCUP,{UPC_C}\n"
    )

    report = import_file(thg_c, content, skip_bad_rows=True)

    assert report.written is True
    assert report.created == 2
    assert report.rejected == 2
    assert report.summary() == (
        "4 rows read for THG C: 2 identifier mappings were written (2 "
        "created, 0 updated), 0 unchanged, 2 rejected."
    )
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE"), ("0" + UPC_C, "CUP")]


def test_import_dry_run_writes_nothing(thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n")

    report = import_file(thg_c, content, dry_run=True)

    assert report.created == 1
    assert report.written is False
    assert IdentifierMapping.objects.count() == 0


def test_import_again_updates_and_counts_unchanged(thg_c, products):
    import_file(thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nCUP,{UPC_C}\n"))

    report = import_file(thg_c, f.csv_bytes(f"sku,upc\nMUG-RED,{UPC_A}\nCUP,{UPC_C}\n"))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-RED"), ("0" + UPC_C, "CUP")]


def test_import_strategy_b_fills_channel_skus(thg_b, thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-RED,{UPC_B}\n")

    report = import_file(thg_b, content)

    assert report.target == "channel_sku"
    assert channel_skus(thg_b) == [("0" + UPC_A, "MUG-BLUE"), ("0" + UPC_B, "MUG-RED")]
    assert IdentifierMapping.objects.count() == 0


def test_import_strategy_c_leaves_channel_skus(thg_b, thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n")

    report = import_file(thg_c, content)

    assert report.target == "mapping"
    assert ChannelListing.objects.count() == 0
    assert mappings(thg_c) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_strategy_b_updates_existing_listing(thg_b, products):
    listing = ChannelListing.objects.create(
        connector=thg_b, product=products["MUG-BLUE"], channel_product_id="P1"
    )

    import_file(thg_b, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"))

    listing.refresh_from_db()
    assert listing.channel_sku == "0" + UPC_A
    assert listing.channel_product_id == "P1"
    assert ChannelListing.objects.count() == 1


def test_import_b_swaps_upcs(thg_b, products):
    import_file(thg_b, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-RED,{UPC_B}\n"))

    report = import_file(
        thg_b, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_B}\nMUG-RED,{UPC_A}\n")
    )

    assert report.errors == []
    assert channel_skus(thg_b) == [("0" + UPC_A, "MUG-RED"), ("0" + UPC_B, "MUG-BLUE")]


def test_import_b_upc_held_elsewhere(thg_b, products):
    import_file(thg_b, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"))

    report = import_file(thg_b, f.csv_bytes(f"sku,upc\nMUG-RED,{UPC_A}\n"))

    assert [(e.line, e.column) for e in report.errors] == [(2, "upc")]
    assert "already the Channel SKU of 'MUG-BLUE'" in report.errors[0].message
    assert channel_skus(thg_b) == [("0" + UPC_A, "MUG-BLUE")]


def test_import_b_sku_with_two_upcs(thg_b, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-BLUE,{UPC_B}\n")

    report = import_file(thg_b, content)

    assert [(e.line, e.column) for e in report.errors] == [(2, "sku"), (3, "sku")]
    assert ChannelListing.objects.count() == 0


def test_import_strategy_b_parent_product_rejected(thg_b, products):
    parent = f.product("MUG")
    f.product("MUG-S", parent=parent)

    report = import_file(thg_b, f.csv_bytes(f"sku,upc\nMUG,{UPC_A}\n"))

    assert [(e.line, e.column, e.value) for e in report.errors] == [(2, "sku", "MUG")]
    assert "parent product" in report.errors[0].message
    assert ChannelListing.objects.count() == 0


def test_import_tiktok_rows_rejected(products):
    tiktok = f.connector(name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="A")

    report = import_file(tiktok, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"))

    assert [(e.line, e.column, e.value) for e in report.errors] == [(2, "upc", UPC_A)]
    assert "TikTok Shop has no Channel SKU" in report.errors[0].message
    assert ChannelListing.objects.count() == 0


def test_import_strategy_a_is_file_error(products):
    thg_a = f.connector(name="THG A", strategy="A")

    report = import_file(thg_a, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"))

    assert "uses strategy A" in report.file_error
    assert IdentifierMapping.objects.count() == 0
    assert ChannelListing.objects.count() == 0


def test_import_missing_values_located(thg_c, products):
    content = f.csv_bytes(f"sku,upc\n,{UPC_A}\nMUG-RED,\n")

    report = import_file(thg_c, content)

    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "sku", "The SKU is missing."),
        (3, "upc", "The UPC is missing."),
    ]


def test_import_blank_rows_skipped(thg_c, products):
    content = f.csv_bytes("sku,upc\n\n,\nMUG-BLUE,5012345678901\n")

    report = import_file(thg_c, content)

    assert report.total_rows == 1
    assert [(e.line, e.column) for e in report.errors] == [(4, "upc")]


def test_import_constant_queries_per_chunk(thg_c, django_assert_max_num_queries):
    from catalog.models import Product

    Product.objects.bulk_create(
        [Product(sku=f"SKU-{index}", name="x") for index in range(300)]
    )
    small = "sku,upc\n" + "".join(
        f"SKU-{index},{f.upc(f'5000000{index:05d}')}\n" for index in range(30)
    )
    large = "sku,upc\n" + "".join(
        f"SKU-{index},{f.upc(f'5000001{index:05d}')}\n" for index in range(300)
    )

    # Both files fit in one chunk, so they take the same number of queries:
    # products, existing mappings, the lock, and the inserts.
    with django_assert_max_num_queries(8):
        import_file(thg_c, f.csv_bytes(small))
    with django_assert_max_num_queries(8):
        import_file(thg_c, f.csv_bytes(large))

    assert IdentifierMapping.objects.count() == 330
