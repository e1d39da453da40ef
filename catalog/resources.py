"""django-import-export glue for UPC-to-SKU mapping files.

The admin's import and export views come from django-import-export; the
reading, checking and writing are the hub's own (:mod:`catalog.tabular`,
:mod:`catalog.mapping_import`), because the library's row-by-row import is
too slow for catalogs of 100,000 rows and its readers do not detect the
delimiter. :class:`MappingFileFormat` hands the view a
:class:`~catalog.tabular.Table`, and :class:`MappingResource` runs the bulk
import on it and wraps the report in a django-import-export ``Result``.
"""

import tablib
from import_export import fields, resources
from import_export.formats.base_formats import Format
from import_export.results import Result, RowResult

from connectors.models import Connector

from . import gtin
from .mapping_import import (
    TARGET_CHANNEL_SKU,
    ImportRejected,
    ImportReport,
    import_mappings,
    import_target,
)
from .models import ChannelListing, IdentifierMapping
from .tabular import TableError, read_table

EXPORT_HEADERS = ["sku", "upc"]


class UnreadableFile:
    """The dataset :class:`MappingFileFormat` returns for an unreadable file."""

    def __init__(self, content: bytes, message: str):
        self.content = content
        self.message = message

    def __bool__(self) -> bool:
        return True


class MappingFileFormat(Format):
    """CSV, TSV or XLSX, detected from the content, for the admin import view."""

    def __init__(self, encoding=None):
        # The file is read as bytes; the reader detects the encoding.
        self.encoding = None

    def get_title(self):
        return "CSV, TSV or XLSX (detected from the file)"

    def create_dataset(self, in_stream):
        try:
            return read_table(in_stream)
        except TableError as exc:
            return UnreadableFile(in_stream, str(exc))

    def can_import(self):
        return True

    def can_export(self):
        return False

    def get_extension(self):
        return "csv"


class MappingImportResult(Result):
    """A django-import-export ``Result`` that carries an :class:`ImportReport`.

    The admin templates read the report; ``has_errors`` is true when nothing
    may be written, which keeps the confirm button away.
    """

    def __init__(self, report: ImportReport, job=None):
        super().__init__()
        self.report = report
        self.job = job
        self.diff_headers = ["line", *EXPORT_HEADERS]
        self.total_rows = report.total_rows
        self.totals[RowResult.IMPORT_TYPE_NEW] = report.created
        self.totals[RowResult.IMPORT_TYPE_UPDATE] = report.updated
        self.totals[RowResult.IMPORT_TYPE_SKIP] = report.unchanged
        self.totals[RowResult.IMPORT_TYPE_ERROR] = report.rejected

    def has_errors(self):
        return self.report.blocked

    def has_validation_errors(self):
        return False


class MappingResource(resources.Resource):
    """The ``sku``/``upc`` file of one connector's UPC mappings."""

    sku = fields.Field(attribute="sku", column_name="sku")
    upc = fields.Field(attribute="upc", column_name="upc")

    def __init__(self, connector: Connector | None = None, skip_bad_rows=False, **kw):
        super().__init__(**kw)
        self.connector = connector
        self.skip_bad_rows = skip_bad_rows

    @classmethod
    def get_display_name(cls):
        return "UPC mappings (sku, upc)"

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """Check (and unless ``dry_run``, write) the table; return the result."""
        if self.connector is None:
            raise ValueError("MappingResource needs a connector to import into.")
        if isinstance(dataset, UnreadableFile):
            report = ImportReport(
                connector_name=self.connector.name,
                dry_run=dry_run,
                skip_bad_rows=self.skip_bad_rows,
                file_error=dataset.message,
            )
        else:
            report = import_mappings(
                self.connector,
                dataset,
                dry_run=dry_run,
                skip_bad_rows=self.skip_bad_rows,
            )
        return MappingImportResult(report)

    def export(self, queryset=None, **kwargs):
        """Return the connector's mappings of the products in ``queryset``.

        The file has the columns the import reads, so it can be edited and
        imported again. UPCs are written as text in their 13-digit form
        where they have one.
        """
        if self.connector is None:
            raise ValueError("Choose the connector whose UPC mappings to export.")
        dataset = tablib.Dataset(headers=EXPORT_HEADERS)
        for sku, value in export_rows(self.connector, queryset):
            dataset.append([sku, value])
        return dataset


def export_rows(connector: Connector, products=None) -> list[tuple[str, str]]:
    """Return ``(sku, upc)`` pairs of the connector's mappings, by SKU.

    Raises ValueError, with a message for a person, for a connector that
    has no UPC mappings (strategy A or TikTok Shop).
    """
    try:
        target = import_target(connector)
    except ImportRejected as exc:
        raise ValueError(str(exc)) from exc
    if not connector.is_thg:
        raise ValueError(
            f"{connector.name} is a {connector.get_kind_display()} connector, "
            "which has no UPC mappings: its seller SKUs equal the master SKUs."
        )
    if target == TARGET_CHANNEL_SKU:
        rows = ChannelListing.objects.filter(
            connector=connector, channel_sku__isnull=False
        ).values_list("product__sku", "channel_sku")
    else:
        rows = IdentifierMapping.objects.filter(connector=connector).values_list(
            "product__sku", "channel_identifier"
        )
    if products is not None:
        rows = rows.filter(product__in=products.values("pk"))
    return [
        (sku, _export_upc(value))
        for sku, value in rows.order_by("product__sku", "pk").iterator(chunk_size=2000)
    ]


def _export_upc(value: str) -> str:
    if gtin.is_valid(value):
        return gtin.as_ean13(gtin.normalize(value))
    return value
