"""Read the rows of a small CSV or XLSX file for the stock import.

CSV: UTF-8 with or without a byte-order mark, any line ending (CRLF, LF,
CR), and a comma, semicolon, tab or pipe between cells, detected from the
header line. XLSX: the first worksheet, read with openpyxl. Header names are
compared trimmed, lower-cased, with inner spaces and underscores collapsed
to one space. Rows whose cells are all empty are skipped.

NOTE: catalog/tabular.py reads the same formats for the mapping import; the
two readers can become one module once both imports settle on one API.
"""

import csv
import io
from dataclasses import dataclass

DELIMITERS = ",;\t|"
_XLSX_MAGIC = b"PK\x03\x04"


class TableError(ValueError):
    """A file that cannot be read as a table; the message says what to do."""


@dataclass(frozen=True)
class Row:
    line: int  # the file's line (CSV) or the worksheet's row (XLSX)
    cells: dict  # normalized header -> cell value


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[Row]
    file_format: str


def normalize_header(name) -> str:
    """Return a header trimmed, lower-cased, with single spaces for _ and runs."""
    text = "" if name is None else str(name)
    return " ".join(text.replace("\ufeff", "").replace("_", " ").split()).lower()


def read_table(content: bytes) -> Table:
    """Read a CSV or XLSX file (detected from its first bytes) into rows."""
    if content.startswith(_XLSX_MAGIC):
        return _read_xlsx(content)
    return _read_csv(content)


def _read_csv(content: bytes) -> Table:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(
            f"The file is not UTF-8 text (invalid byte at position {exc.start}). "
            "Save it as CSV UTF-8 or as an Excel workbook (.xlsx)."
        ) from exc
    first_line = text.splitlines()[0] if text.strip() else ""
    if not first_line.strip():
        raise TableError("The file is empty: its first line must name the columns.")
    delimiter = max(DELIMITERS, key=first_line.count)
    if not first_line.count(delimiter):
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [normalize_header(cell) for cell in next(reader)]
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        # reader.line_num is the line the record ends on, so a quoted cell
        # spanning lines still names the line a spreadsheet shows.
        rows.append(Row(reader.line_num, _cells(headers, cells)))
    return Table(headers, rows, "csv")


def _read_xlsx(content: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise TableError(
            f"The file looks like an Excel workbook but cannot be opened ({exc}). "
            "Save it again as .xlsx, or as CSV UTF-8."
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header_cells = next(values, None)
        if not header_cells or not any(cell is not None for cell in header_cells):
            raise TableError(
                "The first row of the first worksheet must name the columns."
            )
        headers = [normalize_header(cell) for cell in header_cells]
        rows = []
        for number, cells in enumerate(values, start=2):
            if all(cell is None or str(cell).strip() == "" for cell in cells):
                continue
            rows.append(Row(number, _cells(headers, cells)))
    finally:
        workbook.close()
    return Table(headers, rows, "xlsx")


def _cells(headers, cells) -> dict:
    padded = list(cells) + [None] * (len(headers) - len(cells))
    return {
        header: ("" if value is None else value)
        for header, value in zip(headers, padded, strict=False)
        if header
    }
