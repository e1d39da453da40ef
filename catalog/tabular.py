"""Read a table from a CSV, TSV or XLSX file, as people really produce them.

Text files may be UTF-8 with or without a byte-order mark (or UTF-16 with
one, as Excel's "Unicode text" export writes), with Windows, Unix or old Mac
line endings, and with a comma, semicolon or tab between cells. The
delimiter is detected from the header row. XLSX cells keep their types, so a
numeric cell comes back as an int or a float for the caller to interpret.

Header names are compared after trimming, lowercasing and collapsing inner
whitespace. Rows whose cells are all empty are skipped.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

DELIMITERS = (",", ";", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


class TableError(ValueError):
    """A file that cannot be read as a table. The message states the fix."""


def normalize_header(name) -> str:
    """Return a header name trimmed, lowercased, with single inner spaces."""
    if name is None:
        return ""
    return " ".join(str(name).replace("\ufeff", "").split()).lower()


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class Table:
    """The header and a way to read the rows of one tabular file.

    ``rows()`` yields ``(line_number, cells)`` for each non-blank row after
    the header, where ``line_number`` is the line of the text file (or the
    row of the worksheet) that the row ends on, and ``cells`` is a tuple as
    long as the header.
    """

    content: bytes
    file_format: str
    headers: list[str]
    raw_headers: list[str]
    header_line: int
    estimated_rows: int
    delimiter: str = ""
    encoding: str = ""
    warnings: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        # The admin import view treats a false dataset as an empty file; the
        # import service reports that case itself, with a clearer message.
        return True

    def __len__(self) -> int:
        return self.estimated_rows

    def column_index(self, name: str) -> int | None:
        try:
            return self.headers.index(name)
        except ValueError:
            return None

    def rows(self) -> Iterator[tuple[int, tuple]]:
        if self.file_format == "xlsx":
            return _xlsx_rows(self)
        return _text_rows(self)


def read_table(content: bytes) -> Table:
    """Return the :class:`Table` in ``content``, or raise :class:`TableError`.

    The format is detected from the content: XLSX is a ZIP archive, anything
    else is read as delimited text.
    """
    if content.startswith(_ZIP_MAGIC):
        return _read_xlsx(content)
    if content.startswith(_OLE2_MAGIC):
        raise TableError(
            "The file is an Excel 97-2003 workbook (.xls), which cannot be "
            "read. Save it as an Excel workbook (.xlsx) or as CSV UTF-8 and "
            "upload that file."
        )
    return _read_text(content)


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        return content.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise TableError(
            f"The file is not {encoding.upper()} text: byte "
            f"0x{content[exc.start]:02x} at position {exc.start} is invalid. "
            "Save the file as CSV UTF-8 (in Excel: Save As, then "
            "'CSV UTF-8 (Comma delimited)') and upload it again."
        ) from exc


def _detect_delimiter(header_line: str) -> str:
    """Return the delimiter that splits the header row into the most cells.

    Header names contain no delimiters, so the header row is a reliable
    sample even when cell values further down contain commas.
    """
    best, best_count = ",", 1
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        if len(cells) > best_count:
            best, best_count = delimiter, len(cells)
    return best


def _first_line(text: str) -> str:
    for line in _LINE_BREAKS.split(text):
        if line.strip():
            return line
    raise TableError(
        "The file is empty. Upload a file whose first row names the columns."
    )


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, cells)`` for each non-blank record of the text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if all(is_blank(cell) for cell in cells):
                continue
            yield reader.line_num, cells
    except csv.Error as exc:
        raise TableError(
            f"Line {reader.line_num} cannot be read: {exc}. Check the quotes "
            "on that line."
        ) from exc


def _read_text(content: bytes) -> Table:
    text, encoding = _decode(content)
    if "\x00" in text:
        raise TableError(
            "The file contains NUL characters, so it is not a text file. "
            "Upload a CSV, TSV or XLSX file."
        )
    delimiter = _detect_delimiter(_first_line(text))
    header_line, raw_headers = next(_records(text, delimiter))
    line_breaks = text.count("\n") or text.count("\r")
    return Table(
        content=content,
        file_format="csv",
        headers=[normalize_header(name) for name in raw_headers],
        raw_headers=[name.strip() for name in raw_headers],
        header_line=header_line,
        estimated_rows=max(line_breaks + 1 - header_line, 0),
        delimiter=delimiter,
        encoding=encoding,
    )


def _text_rows(table: Table) -> Iterator[tuple[int, tuple]]:
    text, _ = _decode(table.content)
    width = len(table.headers)
    for line_number, cells in _records(text, table.delimiter):
        if line_number <= table.header_line:
            continue
        yield line_number, _fit(tuple(cells), width, "")


def _fit(cells: tuple, width: int, filler) -> tuple:
    if len(cells) >= width:
        return cells[:width]
    return cells + (filler,) * (width - len(cells))


def _open_workbook(content: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        OSError,
        ValueError,
    ) as exc:
        raise TableError(
            f"The file is a ZIP archive but not a readable Excel workbook "
            f"({exc}). Save it again as .xlsx, or as CSV UTF-8."
        ) from exc


def _worksheet_rows(content: bytes) -> Iterator[tuple[int, tuple]]:
    workbook = _open_workbook(content)
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, tuple(cells)
    finally:
        workbook.close()


def _read_xlsx(content: bytes) -> Table:
    workbook = _open_workbook(content)
    try:
        if not workbook.worksheets:
            raise TableError("The workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        max_row = sheet.max_row or 0
        sheet_count = len(workbook.worksheets)
    finally:
        workbook.close()

    header = next(
        (
            (number, cells)
            for number, cells in _worksheet_rows(content)
            if not all(is_blank(cell) for cell in cells)
        ),
        None,
    )
    if header is None:
        raise TableError(
            "The first worksheet is empty. Put the column names in its first row."
        )
    header_line, raw_headers = header
    table = Table(
        content=content,
        file_format="xlsx",
        headers=[normalize_header(name) for name in raw_headers],
        raw_headers=["" if name is None else str(name).strip() for name in raw_headers],
        header_line=header_line,
        estimated_rows=max(max_row - header_line, 0),
    )
    if sheet_count > 1:
        table.warnings.append(
            f"The workbook has {sheet_count} worksheets; only the first one was read."
        )
    return table


def _xlsx_rows(table: Table) -> Iterator[tuple[int, tuple]]:
    width = len(table.headers)
    for number, cells in _worksheet_rows(table.content):
        if number <= table.header_line:
            continue
        if all(is_blank(cell) for cell in cells):
            continue
        yield number, _fit(cells, width, None)
