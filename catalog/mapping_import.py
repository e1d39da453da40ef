"""Bulk import of UPC-to-SKU mapping files into one connector.

A mapping file has the columns ``sku`` (the master SKU) and ``upc`` (THG's
UPC for that product). On a connector using strategy B the file fills its
products' Channel SKUs; on strategy C, the connector's mapping table.

The import is all or nothing unless the caller asks to skip bad rows: one
rejected row means nothing is written, and the report names every rejected
row by line, column and value. Every database step works on chunks of
:data:`CHUNK_SIZE` rows with a constant number of queries per chunk, so the
admin, the ``import_mappings`` command and the benchmark share one path
whose cost grows with the file only through the number of chunks.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from connectors.models import Connector
from orders.recheck import queue_check_again

from . import gtin
from .models import ChannelListing, IdentifierMapping, Product, supports_channel_sku
from .tabular import Table, TableError, read_table

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("sku", "upc")
#: Rows per database round: lookups, bulk_create and bulk_update batches.
CHUNK_SIZE = 1000
#: Files with more rows than this are checked and written by a django-q2
#: task, so the upload returns at once.
ASYNC_ROW_THRESHOLD = 2000
#: Repeated-row warnings listed one by one; the rest are counted.
MAX_LISTED_WARNINGS = 50
SKU_MAX_LENGTH = Product._meta.get_field("sku").max_length

TARGET_CHANNEL_SKU = "channel_sku"
TARGET_MAPPING = "mapping"

Progress = Callable[[int, int], None]


class ImportRejected(Exception):
    """The whole file cannot be imported into this connector."""


@dataclass(frozen=True)
class RowError:
    """One rejected cell: the line of the file, the column, the value, why."""

    line: int
    column: str
    value: str
    message: str

    def __str__(self):
        return (
            f"Line {self.line}, column {self.column}, value {self.value!r}: "
            f"{self.message}"
        )

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ImportReport:
    """The outcome of checking, and perhaps writing, one mapping file."""

    connector_name: str
    target: str = ""
    dry_run: bool = False
    skip_bad_rows: bool = False
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    file_error: str = ""
    written: bool = False

    @property
    def blocked(self) -> bool:
        """Whether nothing may be written: a file error, or bad rows not skipped."""
        return bool(self.file_error) or (bool(self.errors) and not self.skip_bad_rows)

    @property
    def written_count(self) -> int:
        return self.created + self.updated

    @property
    def target_label(self) -> str:
        if self.target == TARGET_CHANNEL_SKU:
            return "Channel SKUs"
        return "identifier mappings"

    def _target_noun(self, count: int) -> str:
        label = self.target_label
        return label[:-1] if count == 1 else label

    def summary(self) -> str:
        """Return one sentence with the counts, for a person to read."""
        if self.file_error:
            return f"Nothing imported into {self.connector_name}: {self.file_error}"
        if self.blocked:
            return (
                f"Nothing written to {self.connector_name}: {self.rejected} of "
                f"{_rows(self.total_rows)} rejected. Fix them and import the "
                "file again, or choose to skip bad rows."
            )
        if not self.written:
            verb = "would be"
        else:
            verb = "was" if self.written_count == 1 else "were"
        text = (
            f"{_rows(self.total_rows)} read for {self.connector_name}: "
            f"{self.written_count} {self._target_noun(self.written_count)} "
            f"{verb} written "
            f"({self.created} created, {self.updated} updated), "
            f"{self.unchanged} unchanged, {self.rejected} rejected."
        )
        if self.merged:
            text += f" {_rows(self.merged)} repeating an earlier row merged."
        return text


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


@dataclass
class _Row:
    line: int
    sku: str
    upc: str
    raw_upc: str


@dataclass
class _Plan:
    """The writes a checked file needs, as primary keys and values."""

    creates: list[tuple[int, str]] = field(default_factory=list)
    updates: list[tuple[int, int | str]] = field(default_factory=list)
    released_listing_ids: list[int] = field(default_factory=list)


def import_target(connector: Connector) -> str:
    """Return what a mapping file fills on this connector, or raise.

    Raises :class:`ImportRejected` for a THG connector on strategy A, which
    matches on master SKUs and has nothing to import.
    """
    if not supports_channel_sku(connector.kind):
        return TARGET_CHANNEL_SKU
    strategy = connector.identifier_strategy
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        return TARGET_CHANNEL_SKU
    if strategy == Connector.IdentifierStrategy.CUSTOM_MAPPING:
        return TARGET_MAPPING
    raise ImportRejected(
        f"Connector {connector.name} uses strategy A (THG's SKU field contains "
        "the master SKU), so it has no UPC mappings to import. Change its "
        "identifier strategy to B or C first."
    )


def import_file(
    connector: Connector,
    content: bytes,
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read ``content`` as a table and import it; see :func:`import_mappings`."""
    try:
        table = read_table(content)
    except TableError as exc:
        return ImportReport(
            connector_name=connector.name,
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            file_error=str(exc),
        )
    return import_mappings(
        connector,
        table,
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
        progress=progress,
    )


def import_mappings(
    connector: Connector,
    table: Table,
    *,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row of ``table`` and, unless refused, write the mappings.

    Nothing is written on a dry run, on a file error, or when a row is
    rejected and ``skip_bad_rows`` is false. The writes run in one
    transaction that locks the connector row, so two imports into one
    connector do not interleave, and a task that checks the connector's
    unmatched orders again is queued when it commits. ``progress`` is
    called with (rows checked, rows in the file) after each chunk.
    """
    report = ImportReport(
        connector_name=connector.name, dry_run=dry_run, skip_bad_rows=skip_bad_rows
    )
    report.warnings.extend(table.warnings)
    try:
        report.target = import_target(connector)
        rows, sku_only = _read_rows(connector, table, report)
    except ImportRejected as exc:
        report.file_error = str(exc)
        return report
    except TableError as exc:
        report.file_error = str(exc)
        return report

    plan = _check_rows(connector, rows, report, progress)
    _check_skus_only(sku_only, report)
    _count(report, plan)
    if report.blocked or dry_run:
        return report
    _write(connector, plan, report)
    return report


def _cell_text(value) -> str:
    """Return a cell as trimmed text; a whole-number float loses its ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_header(table: Table) -> tuple[int, int]:
    positions = {}
    for name in REQUIRED_COLUMNS:
        count = table.headers.count(name)
        if count == 0:
            found = ", ".join(repr(name) for name in table.raw_headers if name)
            raise ImportRejected(
                f"The file has no column named {name!r}. Its first row must "
                f"name the columns sku and upc (found: {found or 'nothing'})."
            )
        if count > 1:
            raise ImportRejected(
                f"The column {name!r} appears {count} times in the header row. "
                "Keep one column of each name."
            )
        positions[name] = table.headers.index(name)
    return positions["sku"], positions["upc"]


def _extra_columns_warning(table: Table) -> str:
    extras = [
        raw
        for raw, name in zip(table.raw_headers, table.headers, strict=True)
        if name not in REQUIRED_COLUMNS
    ]
    if not extras:
        return ""
    named = [repr(name) for name in extras if name]
    unnamed = len(extras) - len(named)
    parts = []
    if named:
        noun = "column" if len(named) == 1 else "columns"
        parts.append(f"the {noun} " + ", ".join(named))
    if unnamed:
        parts.append(f"{unnamed} unnamed column{'s' if unnamed > 1 else ''}")
    return f"Ignored {' and '.join(parts)}: the file needs only sku and upc."


def _parse_row(line: int, sku_cell, upc_cell, report: ImportReport) -> _Row | None:
    """Return the row's cleaned values, or None when its SKU is unusable.

    Every problem found is added to ``report.errors``.
    """
    sku = _cell_text(sku_cell)
    raw_upc = _cell_text(upc_cell) if not isinstance(upc_cell, str) else upc_cell
    raw_upc = raw_upc.strip()
    problems = []
    if not sku:
        problems.append(RowError(line, "sku", "", "The SKU is missing."))
    elif len(sku) > SKU_MAX_LENGTH:
        problems.append(
            RowError(
                line,
                "sku",
                sku,
                f"The SKU has {len(sku)} characters; a SKU has at most "
                f"{SKU_MAX_LENGTH}.",
            )
        )
    sku_valid = not problems
    upc = ""
    if not raw_upc:
        problems.append(RowError(line, "upc", "", "The UPC is missing."))
    else:
        try:
            upc = gtin.normalize(upc_cell)
        except gtin.InvalidGTIN as exc:
            problems.append(RowError(line, "upc", raw_upc, str(exc)))
    report.errors.extend(problems)
    if not sku_valid:
        return None
    # A row whose UPC was rejected keeps its SKU, so that an unknown SKU on
    # the same row is reported in the same run. Its empty ``upc`` keeps it
    # out of the writes.
    return _Row(line=line, sku=sku, upc=upc, raw_upc=raw_upc)


def _read_rows(connector: Connector, table: Table, report: ImportReport):
    """Parse every row, merge repeated rows and reject conflicting ones.

    Returns the rows left to check against the catalog, in file order, and
    the rows whose UPC was rejected, whose SKU is still worth checking.
    """
    sku_index, upc_index = _check_header(table)
    warning = _extra_columns_warning(table)
    if warning:
        report.warnings.append(warning)

    by_upc: dict[str, _Row] = {}
    sku_only: list[_Row] = []
    repeats: dict[str, list[_Row]] = defaultdict(list)
    for line, cells in table.rows():
        report.total_rows += 1
        row = _parse_row(line, cells[sku_index], cells[upc_index], report)
        if row is None:
            continue
        if not row.upc:
            sku_only.append(row)
            continue
        first = by_upc.setdefault(row.upc, row)
        if first is not row:
            repeats[row.upc].append(row)
    if report.total_rows == 0:
        raise ImportRejected(
            "The file has a header row but no data rows. Add one row per "
            "product, with its SKU and UPC."
        )

    _reject_conflicting_upcs(by_upc, repeats, report)
    rows = sorted(by_upc.values(), key=lambda row: row.line)
    if report.target == TARGET_CHANNEL_SKU:
        rows = _reject_conflicting_skus(rows, report)
    if not supports_channel_sku(connector.kind):
        rows = _reject_all(connector, rows, report)
    return rows, sku_only


def _reject_conflicting_upcs(
    by_upc: dict[str, _Row], repeats: dict[str, list[_Row]], report: ImportReport
) -> None:
    merged_warnings = []
    for upc, later_rows in repeats.items():
        group = [by_upc[upc], *later_rows]
        if len({row.sku for row in group}) == 1:
            report.merged += len(later_rows)
            merged_warnings.extend(
                f"Line {row.line} repeats line {group[0].line} (sku "
                f"{row.sku!r}, upc {row.raw_upc!r}); the rows were merged."
                for row in later_rows
            )
            continue
        listing = ", ".join(f"{row.sku!r} on line {row.line}" for row in group)
        for row in group:
            report.errors.append(
                RowError(
                    row.line,
                    "upc",
                    row.raw_upc,
                    f"UPC {row.upc} is given different SKUs in this file: "
                    f"{listing}. Keep one row per UPC.",
                )
            )
        del by_upc[upc]
    report.warnings.extend(merged_warnings[:MAX_LISTED_WARNINGS])
    if len(merged_warnings) > MAX_LISTED_WARNINGS:
        report.warnings.append(
            f"{len(merged_warnings) - MAX_LISTED_WARNINGS} more repeated rows "
            "were merged."
        )


def _reject_conflicting_skus(rows: list[_Row], report: ImportReport) -> list[_Row]:
    """Reject every row of a SKU given two UPCs: a product has one Channel SKU."""
    by_sku: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_sku[row.sku].append(row)
    rejected_lines = set()
    for sku, group in by_sku.items():
        if len(group) == 1:
            continue
        listing = ", ".join(f"{row.raw_upc!r} on line {row.line}" for row in group)
        for row in group:
            rejected_lines.add(row.line)
            report.errors.append(
                RowError(
                    row.line,
                    "sku",
                    sku,
                    f"SKU {sku!r} is given different UPCs in this file: "
                    f"{listing}. A product has one Channel SKU per connector; "
                    "keep one row per SKU.",
                )
            )
    return [row for row in rows if row.line not in rejected_lines]


def _reject_all(connector: Connector, rows: list[_Row], report: ImportReport) -> list:
    for row in rows:
        report.errors.append(
            RowError(
                row.line,
                "upc",
                row.raw_upc,
                f"{connector.get_kind_display()} has no Channel SKU: its "
                "seller SKU must equal the master SKU, so a UPC cannot be "
                "imported for it.",
            )
        )
    return []


def _chunks(items: list, size: int = CHUNK_SIZE) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Planned:
    """The Channel SKU a product gets from the file, and its listing if any."""

    row: _Row
    upc: str
    listing_id: int | None


@dataclass
class _Holder:
    """A listing that already has a UPC the file gives another product."""

    row: _Row
    row_product_id: int
    listing_id: int
    product_id: int
    product_sku: str


def _check_rows(
    connector: Connector,
    rows: list[_Row],
    report: ImportReport,
    progress: Progress | None,
) -> _Plan:
    """Check the rows against the catalog in chunks and plan the writes."""
    plan = _Plan()
    unknown: dict[str, list[_Row]] = defaultdict(list)
    holders: list[_Holder] = []
    planned: dict[int, _Planned] = {}

    checked = 0
    for chunk in _chunks(rows):
        found = dict(
            Product.objects.filter(sku__in={row.sku for row in chunk}).values_list(
                "sku", "pk"
            )
        )
        known = []
        for row in chunk:
            if row.sku in found:
                known.append((row, found[row.sku]))
            else:
                unknown[row.sku].append(row)
        if report.target == TARGET_CHANNEL_SKU:
            _check_listing_chunk(connector, known, report, planned, holders)
        else:
            _check_mapping_chunk(connector, known, report, plan)
        checked += len(chunk)
        if progress:
            progress(checked, len(rows))

    _reject_unknown_skus(unknown, report)
    if report.target == TARGET_CHANNEL_SKU:
        _resolve_holders(connector, holders, planned, report, plan)
    return plan


def _check_mapping_chunk(connector, rows, report, plan) -> None:
    existing = {
        identifier: (pk, product_id)
        for identifier, pk, product_id in IdentifierMapping.objects.filter(
            connector=connector, channel_identifier__in=[row.upc for row, _ in rows]
        ).values_list("channel_identifier", "pk", "product_id")
    }
    for row, product_id in rows:
        current = existing.get(row.upc)
        if current is None:
            plan.creates.append((product_id, row.upc))
        elif current[1] == product_id:
            report.unchanged += 1
        else:
            plan.updates.append((current[0], product_id))


def _check_listing_chunk(connector, rows, report, planned, holders) -> None:
    """Check a chunk of strategy B rows and record what each product gets.

    Listings of other products that already have a UPC of the chunk go to
    ``holders``. :func:`_resolve_holders` settles them once every chunk is
    checked, because the other product may get a new UPC further down.
    """
    ids = [product_id for _, product_id in rows]
    parents = set(
        Product.objects.filter(parent_id__in=ids)
        .values_list("parent_id", flat=True)
        .distinct()
    )
    listings = {
        product_id: (pk, channel_sku)
        for product_id, pk, channel_sku in ChannelListing.objects.filter(
            connector=connector, product_id__in=ids
        ).values_list("product_id", "pk", "channel_sku")
    }
    holders_by_upc = {
        channel_sku: (pk, product_id, sku)
        for channel_sku, pk, product_id, sku in ChannelListing.objects.filter(
            connector=connector, channel_sku__in=[row.upc for row, _ in rows]
        ).values_list("channel_sku", "pk", "product_id", "product__sku")
    }
    for row, product_id in rows:
        if product_id in parents:
            report.errors.append(
                RowError(
                    row.line,
                    "sku",
                    row.sku,
                    f"{row.sku!r} is a parent product, which holds no Channel "
                    "SKU. Give the UPCs to its variants instead.",
                )
            )
            continue
        listing_id, current = listings.get(product_id, (None, None))
        if current == row.upc:
            report.unchanged += 1
            continue
        planned[product_id] = _Planned(row, row.upc, listing_id)
        holder = holders_by_upc.get(row.upc)
        if holder and holder[1] != product_id:
            holders.append(_Holder(row, product_id, *holder))


def _resolve_holders(connector, holders, planned, report, plan) -> None:
    """Reject rows whose UPC stays with another product, then plan the writes.

    A UPC already held by another product can move only if that product gets
    a new UPC in the same file. Rejecting a row keeps its product's old UPC
    in place, which can strand another row, so the check repeats until no
    row is rejected.
    """
    pending = list(holders)
    while stuck := [holder for holder in pending if holder.product_id not in planned]:
        for holder in stuck:
            row = holder.row
            report.errors.append(
                RowError(
                    row.line,
                    "upc",
                    row.raw_upc,
                    f"UPC {row.upc} is already the Channel SKU of "
                    f"{holder.product_sku!r} on {connector.name}. Remove it "
                    f"there first, or give {holder.product_sku!r} its new UPC "
                    "in this file.",
                )
            )
            planned.pop(holder.row_product_id, None)
            pending.remove(holder)

    plan.released_listing_ids = [holder.listing_id for holder in pending]
    for product_id, item in planned.items():
        if item.listing_id is None:
            plan.creates.append((product_id, item.upc))
        else:
            plan.updates.append((item.listing_id, item.upc))


def _check_skus_only(rows: list[_Row], report: ImportReport) -> None:
    """Report the unknown SKUs of rows already rejected for their UPC."""
    unknown: dict[str, list[_Row]] = defaultdict(list)
    for chunk in _chunks(rows):
        skus = {row.sku for row in chunk}
        found = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        for row in chunk:
            if row.sku not in found:
                unknown[row.sku].append(row)
    _reject_unknown_skus(unknown, report)


def _reject_unknown_skus(unknown: dict[str, list[_Row]], report) -> None:
    """Reject rows whose SKU is not in the catalog, suggesting a near spelling.

    One query per chunk of unknown SKUs finds products whose SKU differs
    only by letter case, the most common slip in a hand-edited file.
    """
    suggestions: dict[str, str] = {}
    for chunk in _chunks(list(unknown)):
        lowered = {sku.lower() for sku in chunk}
        for sku in (
            Product.objects.annotate(lowered=Lower("sku"))
            .filter(lowered__in=lowered)
            .values_list("sku", flat=True)
        ):
            suggestions.setdefault(sku.lower(), sku)
    for sku, rows in unknown.items():
        near = suggestions.get(sku.lower())
        if near:
            message = (
                f"No product has the SKU {sku!r}. The catalog has {near!r}; "
                "SKUs are compared case-sensitively, so use that spelling."
            )
        else:
            message = (
                f"No product has the SKU {sku!r}. Check the spelling, or add "
                "the product to the catalog first."
            )
        report.errors.extend(RowError(row.line, "sku", sku, message) for row in rows)


def _count(report: ImportReport, plan: _Plan) -> None:
    report.errors.sort(key=lambda error: (error.line, error.column))
    report.rejected = len({error.line for error in report.errors})
    report.created = len(plan.creates)
    report.updated = len(plan.updates)


def _write(connector: Connector, plan: _Plan, report: ImportReport) -> None:
    """Write the planned rows in one transaction that locks the connector.

    The rows were checked before the lock was taken. The unique constraints
    catch a concurrent change to the same identifiers: then nothing is
    written, and the report asks for the file to be imported again.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            Connector.objects.select_for_update().filter(pk=connector.pk).first()
            if report.target == TARGET_CHANNEL_SKU:
                _write_listings(connector, plan, now)
            else:
                _write_mappings(connector, plan, now)
            queue_check_again([connector.pk])
    except IntegrityError as exc:
        logger.warning(
            "Connector %s: mapping import rolled back: %s", connector.pk, exc
        )
        report.file_error = (
            "Another change wrote the same identifiers while this file was "
            "imported, so nothing was written. Import the file again."
        )
        return
    report.written = True
    logger.info(
        "Connector %s: imported %s: %s created, %s updated, %s rejected",
        connector.pk,
        report.target_label,
        report.created,
        report.updated,
        report.rejected,
    )


def _write_mappings(connector: Connector, plan: _Plan, now) -> None:
    for chunk in _chunks(plan.updates):
        IdentifierMapping.objects.bulk_update(
            [
                IdentifierMapping(pk=pk, product_id=product_id, updated_at=now)
                for pk, product_id in chunk
            ],
            ["product", "updated_at"],
        )
    for chunk in _chunks(plan.creates):
        IdentifierMapping.objects.bulk_create(
            [
                IdentifierMapping(
                    connector=connector, channel_identifier=upc, product_id=product_id
                )
                for product_id, upc in chunk
            ]
        )


def _write_listings(connector: Connector, plan: _Plan, now) -> None:
    # A UPC that moves from one product to another is released first, so
    # that no statement puts it on two listings of the connector at once.
    for chunk in _chunks(plan.released_listing_ids):
        ChannelListing.objects.filter(pk__in=chunk).update(
            channel_sku=None, updated_at=now
        )
    for chunk in _chunks(plan.updates):
        ChannelListing.objects.bulk_update(
            [
                ChannelListing(pk=pk, channel_sku=upc, updated_at=now)
                for pk, upc in chunk
            ],
            ["channel_sku", "updated_at"],
        )
    for chunk in _chunks(plan.creates):
        ChannelListing.objects.bulk_create(
            [
                ChannelListing(
                    connector=connector, product_id=product_id, channel_sku=upc
                )
                for product_id, upc in chunk
            ]
        )
