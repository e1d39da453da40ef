import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from inventory.importing import ImportRejected, import_stock
from inventory.models import StockLevel, StockMovement
from inventory.tabular import TableError, read_table

from .factories import level, make_location, make_product, put_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    return {
        "a": make_product("A-1"),
        "b": make_product("B-1"),
        "main": make_location("main"),
        "north": make_location("north"),
    }


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_import_csv_sets_on_hand(catalog):
    content = b"SKU,Location code,On hand\nA-1,main,5\nB-1,north,7\n"

    result = import_stock(content, reference="stock.csv")

    assert (result.rows, result.changed, result.unchanged, result.skipped) == (
        2,
        2,
        0,
        0,
    )
    assert level(catalog["a"], catalog["main"]).on_hand == 5
    assert level(catalog["b"], catalog["north"]).on_hand == 7
    movement = StockMovement.objects.get(product=catalog["a"])
    assert movement.reason == StockMovement.Reason.IMPORT
    assert movement.reference == "stock.csv"


def test_import_bom_crlf_semicolon_and_header_spacing(catalog):
    content = "\ufeff Sku ;LOCATION_CODE; on  hand \r\nA-1;MAIN;3\r\n\r\n".encode()

    result = import_stock(content)

    assert result.changed == 1
    assert level(catalog["a"], catalog["main"]).on_hand == 3


def test_import_tab_delimited(catalog):
    result = import_stock(b"sku\tlocation\tquantity\nA-1\tmain\t4\n")

    assert result.changed == 1
    assert level(catalog["a"], catalog["main"]).on_hand == 4


def test_import_xlsx(catalog):
    content = _xlsx([["SKU", "Location code", "On hand"], ["A-1", "main", 6.0]])

    result = import_stock(content)

    assert result.changed == 1
    assert level(catalog["a"], catalog["main"]).on_hand == 6


def test_import_bad_row_rejects_file(catalog):
    content = (
        b"SKU,Location code,On hand\n"
        b"A-1,main,5\n"
        b"NOPE,main,1\n"
        b"B-1,nowhere,2\n"
        b"B-1,main,-1\n"
        b"A-1,north,1.5\n"
    )

    with pytest.raises(ImportRejected) as caught:
        import_stock(content)

    assert [(e.line, e.column, e.value) for e in caught.value.errors] == [
        (3, "sku", "NOPE"),
        (4, "location", "nowhere"),
        (5, "on hand", "-1"),
        (6, "on hand", "1.5"),
    ]
    assert str(caught.value.errors[0]).startswith("Line 3, column 'sku', value 'NOPE'")
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_import_skip_bad_rows_writes_good_ones(catalog):
    content = b"SKU,Location code,On hand\nA-1,main,5\nNOPE,main,1\nB-1,main,x\n"

    result = import_stock(content, skip_bad_rows=True)

    assert (result.rows, result.changed, result.skipped) == (3, 1, 2)
    assert [error.line for error in result.errors] == [3, 4]
    assert level(catalog["a"], catalog["main"]).on_hand == 5
    assert StockLevel.objects.count() == 1


def test_import_duplicate_pair_rejected(catalog):
    content = b"SKU,Location code,On hand\nA-1,main,5\nA-1,main,6\n"

    with pytest.raises(ImportRejected) as caught:
        import_stock(content)

    error = caught.value.errors[0]
    assert (error.line, error.column) == (3, "sku")
    assert "already on line 2" in error.message


def test_import_below_committed_rejected(catalog):
    put_stock(catalog["a"], catalog["main"], 5, committed=4)

    with pytest.raises(ImportRejected) as caught:
        import_stock(b"SKU,Location code,On hand\nA-1,main,3\n")

    error = caught.value.errors[0]
    assert (error.line, error.column, error.value) == (2, "on hand", "3")
    assert "Below the 4 units committed" in error.message
    assert level(catalog["a"], catalog["main"]).on_hand == 5


def test_import_missing_column(catalog):
    with pytest.raises(ImportRejected) as caught:
        import_stock(b"SKU,Where,On hand\nA-1,main,1\n")

    assert [(e.line, e.column) for e in caught.value.errors] == [(1, "location")]
    assert "Columns found: sku, where, on hand" in caught.value.errors[0].message


def test_import_sku_is_case_sensitive(catalog):
    with pytest.raises(ImportRejected) as caught:
        import_stock(b"SKU,Location code,On hand\na-1,main,1\n")

    assert caught.value.errors[0].value == "a-1"


def test_read_table_rejects_non_utf8():
    with pytest.raises(TableError) as caught:
        read_table("SKU,On hand\nÄ,1\n".encode("latin-1"))

    assert "not UTF-8" in str(caught.value)


def test_read_table_rejects_empty_file():
    with pytest.raises(TableError):
        read_table(b"")


def test_read_table_quoted_multiline_cell_keeps_line_numbers():
    table = read_table(b'sku,note\nA,"two\nlines"\nB,x\n')

    assert [row.line for row in table.rows] == [3, 4]


def test_import_command(catalog, tmp_path, capsys):
    path = tmp_path / "stock.csv"
    path.write_bytes(b"SKU,Location code,On hand\nA-1,main,2\n")

    call_command("import_stock", str(path))

    assert "1 rows: 1 changed, 0 unchanged, 0 skipped." in capsys.readouterr().out
    assert level(catalog["a"], catalog["main"]).on_hand == 2


def test_import_command_fails_on_bad_rows(catalog, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_bytes(b"SKU,Location code,On hand\nNOPE,main,2\n")

    with pytest.raises(CommandError) as caught:
        call_command("import_stock", str(path))

    assert "Nothing was imported: 1 problems in stock.csv." in str(caught.value)
    assert StockLevel.objects.count() == 0


def test_import_routes_waiting_orders(catalog, django_capture_on_commit_callbacks):
    from orders import routing
    from orders.models import Order

    from .factories import make_connector, make_order

    order = make_order(make_connector(), [(catalog["a"], 2)])
    routing.route_order(order)
    assert order.status == Order.Status.NEEDS_ATTENTION

    with django_capture_on_commit_callbacks(execute=True):
        import_stock(b"SKU,Location code,On hand\nA-1,main,2\n")

    order.refresh_from_db()
    assert order.status == Order.Status.ROUTED
    assert level(catalog["a"], catalog["main"]).committed == 2
