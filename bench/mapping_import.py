"""Benchmark: import 100,000 UPC-to-SKU rows into a strategy C connector.

The hub's import (:func:`catalog.mapping_import.import_file`, the path the
admin, the ``import_mappings`` command and the django-q2 job share) reads a
CSV file, checks every row and writes the mappings. It is measured beside
two baselines on the same catalog, with the mapping table emptied between
runs:

- django-import-export's default import of a ``ModelResource`` (row by row,
  foreign keys looked up by SKU and connector name, no bulk mode), on the
  first ``baseline_rows`` rows only because it is slow;
- a bare ``bulk_create`` of mapping objects built in advance, with no file
  reading and no checks: the floor for any import.

Targets: at least 10 times the row rate of django-import-export, at most 3
times the time of the bare ``bulk_create``, and a peak resident set below
300 MB. Rates are rows per second of wall-clock time. The peak resident set
is the process's (``ru_maxrss``), read right after the hub's import, which
runs before the baselines. The Python heap peak of the import alone is
measured by a second, untimed run under ``tracemalloc``.
"""

import io
import json
import resource
import sys
import tracemalloc

from bench import Timer, throwaway_database

TARGET_SPEEDUP = 10
TARGET_BULK_RATIO = 3
TARGET_PEAK_MB = 300


def run(rows: int = 100_000, baseline_rows: int = 5_000) -> dict:
    """Seed the catalog, run the import and both baselines, return the figures."""
    with throwaway_database():
        from django.db import connection

        connector = _seed(rows)
        content = _mapping_file(rows)

        with Timer() as hub:
            report = _hub_import(connector, content)
        peak_rss_mb = _peak_rss_mb()
        _check_written(connector, report, rows)

        _clear()
        python_peak_mb = _python_peak_mb(connector, content)

        _clear()
        with Timer() as bare:
            _bare_bulk_create(connector, rows)

        _clear()
        dataset = _baseline_dataset(connector, baseline_rows)
        with Timer() as naive:
            _import_export_rows(dataset)

        hub_rate = rows / hub.seconds
        naive_rate = baseline_rows / naive.seconds
        speedup = hub_rate / naive_rate
        bulk_ratio = hub.seconds / bare.seconds
        return {
            "benchmark": "mapping_import",
            "database": connection.vendor,
            "rows": rows,
            "file_bytes": len(content),
            "hub_seconds": round(hub.seconds, 2),
            "hub_rows_per_second": round(hub_rate),
            "bulk_create_seconds": round(bare.seconds, 2),
            "bulk_create_rows_per_second": round(rows / bare.seconds),
            "import_export_rows": baseline_rows,
            "import_export_seconds": round(naive.seconds, 2),
            "import_export_rows_per_second": round(naive_rate),
            "speedup_vs_import_export": round(speedup, 1),
            "hub_time_vs_bulk_create": round(bulk_ratio, 2),
            "peak_rss_mb": round(peak_rss_mb),
            "python_peak_mb": round(python_peak_mb),
            "target_met": speedup >= TARGET_SPEEDUP
            and bulk_ratio <= TARGET_BULK_RATIO
            and peak_rss_mb < TARGET_PEAK_MB,
        }


def _upc(index: int) -> str:
    from catalog import gtin

    body = f"50{index:010d}"
    return body + str(gtin.check_digit(body))


def _sku(index: int) -> str:
    return f"BENCH-{index:06d}"


def _seed(rows: int):
    from catalog.models import Product
    from connectors.models import Connector

    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="Bench THG C",
        identifier_strategy=Connector.IdentifierStrategy.CUSTOM_MAPPING,
    )
    Product.objects.bulk_create(
        (
            Product(sku=_sku(index), name=f"Bench product {index}")
            for index in range(rows)
        ),
        batch_size=2000,
    )
    return connector


def _mapping_file(rows: int) -> bytes:
    buffer = io.StringIO()
    buffer.write("sku,upc\r\n")
    for index in range(rows):
        buffer.write(f"{_sku(index)},{_upc(index)}\r\n")
    return buffer.getvalue().encode("utf-8")


def _hub_import(connector, content: bytes):
    from catalog.mapping_import import import_file

    return import_file(connector, content)


def _check_written(connector, report, rows: int) -> None:
    from catalog.models import IdentifierMapping

    written = IdentifierMapping.objects.filter(connector=connector).count()
    if report.created != rows or written != rows:
        raise SystemExit(
            f"The hub's import wrote {written} of {rows} rows: {report.summary()}"
        )


def _clear() -> None:
    """Empty the mapping table, so that every run inserts into a fresh one.

    TRUNCATE also drops the dead rows a DELETE would leave in the table and
    its unique index, which would slow the next run's inserts.
    """
    from django.db import connection

    from catalog.models import IdentifierMapping

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {IdentifierMapping._meta.db_table}")


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def _python_peak_mb(connector, content: bytes) -> float:
    tracemalloc.start()
    try:
        _hub_import(connector, content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024 / 1024


def _bare_bulk_create(connector, rows: int) -> None:
    from django.db import transaction

    from catalog.models import IdentifierMapping, Product

    product_ids = dict(Product.objects.values_list("sku", "pk"))
    objects = [
        IdentifierMapping(
            connector=connector,
            channel_identifier=_upc(index).zfill(14),
            product_id=product_ids[_sku(index)],
        )
        for index in range(rows)
    ]
    with transaction.atomic():
        IdentifierMapping.objects.bulk_create(objects, batch_size=1000)


def _baseline_dataset(connector, rows: int):
    import tablib

    dataset = tablib.Dataset(headers=["connector", "channel_identifier", "sku"])
    for index in range(rows):
        dataset.append([connector.name, _upc(index).zfill(14), _sku(index)])
    return dataset


def _import_export_rows(dataset) -> None:
    from import_export import fields, resources, widgets

    from catalog.models import IdentifierMapping, Product
    from connectors.models import Connector

    class MappingModelResource(resources.ModelResource):
        connector = fields.Field(
            attribute="connector",
            column_name="connector",
            widget=widgets.ForeignKeyWidget(Connector, "name"),
        )
        product = fields.Field(
            attribute="product",
            column_name="sku",
            widget=widgets.ForeignKeyWidget(Product, "sku"),
        )

        class Meta:
            model = IdentifierMapping
            fields = ("connector", "channel_identifier", "product")
            import_id_fields = ("connector", "channel_identifier")

    result = MappingModelResource().import_data(dataset, dry_run=False)
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit("The django-import-export baseline reported errors.")


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
