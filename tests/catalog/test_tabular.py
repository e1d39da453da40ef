import pytest

from catalog.tabular import TableError, read_table

from . import factories as f


def test_read_table_old_mac_line_endings():
    table = read_table(b"sku,upc\rA,1\rB,2\r")

    assert list(table.rows()) == [(2, ("A", "1")), (3, ("B", "2"))]


def test_read_table_quoted_delimiter_in_value():
    table = read_table(b'sku;upc;name\nA;1;"Mug; blue"\n')

    assert table.delimiter == ";"
    assert list(table.rows()) == [(2, ("A", "1", "Mug; blue"))]


def test_read_table_short_rows_padded():
    table = read_table(b"sku,upc\nA\n")

    assert list(table.rows()) == [(2, ("A", ""))]


def test_read_table_header_after_blank_lines():
    table = read_table(b"\n\nsku,upc\nA,1\n")

    assert table.header_line == 3
    assert list(table.rows()) == [(4, ("A", "1"))]


def test_read_table_empty_file():
    with pytest.raises(TableError, match="The file is empty"):
        read_table(b"")


def test_read_table_xls_rejected():
    with pytest.raises(TableError, match=r"Excel 97-2003 workbook \(.xls\)"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_read_table_zip_that_is_not_xlsx():
    with pytest.raises(TableError, match="not a readable Excel workbook"):
        read_table(b"PK\x03\x04" + b"\x00" * 100)


def test_read_table_xlsx_rows_and_types():
    content = f.xlsx_bytes([["sku", "upc"], [None, None], ["A", 5012345678900]])

    table = read_table(content)

    assert table.file_format == "xlsx"
    assert list(table.rows()) == [(3, ("A", 5012345678900))]


def test_read_table_xlsx_warns_about_other_sheets():
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["sku", "upc"])
    workbook.create_sheet("Notes")
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table(buffer.getvalue())

    assert table.warnings == [
        "The workbook has 2 worksheets; only the first one was read."
    ]
