"""The stock import: absolute on-hand counts from a CSV or XLSX file.

Columns (header case and spacing do not matter): ``SKU``, ``Location code``
(or ``Location``) and ``On hand`` (or ``Quantity``). Every row is checked
before anything is written: the SKU and the location must exist, on hand
must be a whole number not below zero nor below the units committed to
orders, and each (SKU, location) pair may appear once. One bad row rejects
the whole file, with every bad row named by line, column and value, unless
``skip_bad_rows`` is set: then the good rows are written and the bad ones
counted and listed.
"""

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .models import Location, StockLevel, StockMovement
from .stock import CHUNK, InvalidStockChange, StockCount, set_on_hand_many
from .tabular import read_table

logger = logging.getLogger(__name__)

COLUMNS = {
    "sku": ("sku",),
    "location": ("location code", "location"),
    "on hand": ("on hand", "quantity", "qty"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    message: str

    def __str__(self):
        return (
            f"Line {self.line}, column {self.column!r}, value {self.value!r}: "
            f"{self.message}"
        )


class ImportRejected(Exception):
    """The file was not imported; ``errors`` lists every bad row."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(
            f"Nothing was imported: {len(errors)} bad rows. "
            + " ".join(str(error) for error in errors[:20])
        )


@dataclass
class ImportResult:
    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_stock(
    content: bytes, *, skip_bad_rows: bool = False, reference: str = "", user=None
) -> ImportResult:
    """Check every row of a stock file, then set on hand for all of them.

    Raises TableError for a file that cannot be read, and ImportRejected
    (writing nothing) for bad rows unless ``skip_bad_rows``. Writes through
    :func:`inventory.stock.set_on_hand_many`, so the counts land in one
    transaction with IMPORT movements, and waiting orders are routed after.
    """
    table = read_table(content)
    columns, missing = _columns(table.headers)
    if missing:
        raise ImportRejected(missing)
    counts, errors = _check_rows(table.rows, columns)
    result = ImportResult(rows=len(table.rows), errors=errors)
    if errors and not skip_bad_rows:
        raise ImportRejected(errors)
    result.skipped = len({error.line for error in errors})
    try:
        written = set_on_hand_many(
            [count for _, count in counts],
            reason=StockMovement.Reason.IMPORT,
            reference=reference,
            user=user,
        )
    except InvalidStockChange as exc:
        # Orders were routed between the check and the locked write.
        raise ImportRejected(
            [RowError(0, "on hand", "", problem) for problem in exc.problems]
        ) from exc
    result.changed = written.changed
    result.unchanged = written.unchanged
    logger.info(
        "Stock import %s: %d rows, %d changed, %d unchanged, %d skipped",
        reference or "(no reference)",
        result.rows,
        result.changed,
        result.unchanged,
        result.skipped,
    )
    return result


def _columns(headers) -> tuple[dict[str, str], list[RowError]]:
    found = {}
    missing = []
    for column, names in COLUMNS.items():
        match = next((name for name in names if name in headers), None)
        if match is None:
            missing.append(
                RowError(
                    1,
                    column,
                    "",
                    f"Column missing: add a column named {names[0]!r}. "
                    f"Columns found: {', '.join(h for h in headers if h) or 'none'}.",
                )
            )
        else:
            found[column] = match
    return found, missing


def _check_rows(rows, columns):
    from catalog.models import Product

    skus = sorted({str(row.cells.get(columns["sku"], "")).strip() for row in rows})
    products = {}
    for start in range(0, len(skus), CHUNK):
        products.update(
            Product.objects.filter(sku__in=skus[start : start + CHUNK]).values_list(
                "sku", "pk"
            )
        )
    locations = {
        code.lower(): pk for code, pk in Location.objects.values_list("code", "pk")
    }

    errors = []
    counts = []
    first_line = {}
    for row in rows:
        row_errors, count = _check_row(row, columns, products, locations)
        if count is not None:
            key = (count.product_id, count.location_id)
            if key in first_line:
                row_errors.append(
                    RowError(
                        row.line,
                        "sku",
                        str(row.cells[columns["sku"]]).strip(),
                        f"This SKU and location are already on line {first_line[key]}; "
                        "keep one row per SKU and location.",
                    )
                )
            else:
                first_line[key] = row.line
        errors += row_errors
        if not row_errors:
            counts.append((row, count))
    committed_errors = _below_committed(counts, columns)
    bad_lines = {error.line for error in committed_errors}
    counts = [(row, count) for row, count in counts if row.line not in bad_lines]
    errors = sorted(errors + committed_errors, key=lambda error: error.line)
    return counts, errors


def _check_row(row, columns, products, locations):
    errors = []
    sku_text = str(row.cells.get(columns["sku"], "")).strip()
    location_text = str(row.cells.get(columns["location"], "")).strip()
    raw_on_hand = row.cells.get(columns["on hand"], "")
    product_id = products.get(sku_text)
    location_id = locations.get(location_text.lower())
    if not sku_text:
        errors.append(RowError(row.line, "sku", "", "The SKU is empty."))
    elif product_id is None:
        errors.append(
            RowError(
                row.line,
                "sku",
                sku_text,
                "No product has this SKU (SKUs are case-sensitive); create the "
                "product first or correct the SKU.",
            )
        )
    if location_id is None:
        errors.append(
            RowError(
                row.line,
                "location",
                location_text,
                "No location has this code; use a code from Inventory › Locations.",
            )
        )
    quantity, problem = _whole_number(raw_on_hand)
    if problem:
        errors.append(RowError(row.line, "on hand", str(raw_on_hand).strip(), problem))
    if errors:
        return errors, None
    return errors, StockCount(product_id, location_id, quantity)


def _whole_number(value) -> tuple[int | None, str]:
    text = str(value).strip()
    if not text:
        return None, "On hand is empty; enter a whole number of units (0 or more)."
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, "On hand is not a number; enter a whole number of units."
    if number != number.to_integral_value():
        return None, "On hand must be a whole number of units."
    if number < 0:
        return None, "On hand cannot be below zero."
    return int(number), ""


def _below_committed(counts, columns) -> list[RowError]:
    by_location = {}
    for row, count in counts:
        by_location.setdefault(count.location_id, {})[count.product_id] = (row, count)
    errors = []
    for location_id, by_product in by_location.items():
        product_ids = sorted(by_product)
        for start in range(0, len(product_ids), CHUNK):
            committed = StockLevel.objects.filter(
                location_id=location_id,
                product_id__in=product_ids[start : start + CHUNK],
                committed__gt=0,
            ).values_list("product_id", "committed")
            for product_id, units in committed:
                row, count = by_product[product_id]
                if count.quantity < units:
                    errors.append(
                        RowError(
                            row.line,
                            "on hand",
                            str(row.cells[columns["on hand"]]).strip(),
                            f"Below the {units} units committed to orders at this "
                            "location; count again, or release or reroute those "
                            "orders first.",
                        )
                    )
    return errors
