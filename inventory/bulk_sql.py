"""Bulk inserts for the stock hot paths (routing, imports, the change marks).

Django's ``bulk_create`` binds every value as its own parameter (or array
element), and on PostgreSQL quoting them costs more than the INSERT itself
for thousands of rows. Here the rows travel as one JSON document expanded
by ``jsonb_to_recordset``. Other databases use ``bulk_create``.
"""

import json
from collections.abc import Sequence
from datetime import datetime

from django.db import connection


def insert_rows(
    model,
    fields: Sequence[str],
    rows: Sequence[tuple],
    *,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (tuples in ``fields`` order) into ``model``'s table.

    Every NOT NULL column without a database default must be in ``fields``,
    because model defaults (``auto_now_add`` included) do not apply on
    PostgreSQL. With ``unique_fields`` and ``update_fields``, a conflicting
    row is updated instead (an upsert).
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        options = {}
        if unique_fields:
            options = {
                "update_conflicts": True,
                "unique_fields": list(unique_fields),
                "update_fields": list(update_fields),
            }
        model.objects.bulk_create(objects, batch_size=1000, **options)
        return
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    types = [meta.get_field(name).db_type(connection) for name in fields]
    document = json.dumps(
        [dict(zip(columns, map(_plain, row), strict=True)) for row in rows]
    )
    column_list = ", ".join(columns)
    record = ", ".join(
        f"{column} {kind}" for column, kind in zip(columns, types, strict=True)
    )
    sql = (
        f"INSERT INTO {meta.db_table} ({column_list}) SELECT {column_list} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS row({record})"
    )
    if unique_fields:
        conflict = ", ".join(meta.get_field(name).column for name in unique_fields)
        updates = ", ".join(
            f"{meta.get_field(name).column} = EXCLUDED.{meta.get_field(name).column}"
            for name in update_fields
        )
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value
