"""Writing a custom table's rows for a range of windows as one Delta commit.

The rows of ``[start, end)`` (by ``_timestamp``, which is what puts a change-log row in its
window) replace that range's previous rows in one predicate overwrite: readers see the old rows
or the new ones, never both. The rows are streamed into the commit, so a year's backfill holds
one batch at a time. A template edited to add a column merges it into the table (older windows
read null there until they are re-materialized); a column whose type changed is refused with the
way out, because Delta would otherwise cast the new values into the old type silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError


class SchemaConflict(ValueError):
    """The template gives a column a type other than the one the table already has."""


@dataclass
class WriteSummary:
    rows: int = 0
    version: int = -1
    null_counts: dict[str, int] | None = None


def _utc_literal(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window_predicate(start: dt.datetime, end: dt.datetime) -> str:
    """The Delta predicate selecting the rows of ``[start, end)``."""
    return f"_timestamp >= '{_utc_literal(start)}' AND _timestamp < '{_utc_literal(end)}'"


def existing_table(uri: str, storage_options: dict[str, Any]) -> DeltaTable | None:
    try:
        return DeltaTable(uri, storage_options=storage_options or None)
    except TableNotFoundError:
        return None


def check_schema(table: DeltaTable | None, schema: pa.Schema, uri_for_humans: str) -> None:
    """Refuse a type change of an existing column (Delta's merge would cast silently)."""
    if table is None:
        return
    current = pa.schema(table.schema())
    for field in schema:
        index = current.get_field_index(field.name)
        if index < 0:
            continue
        old = current.field(index).type
        if not _same_type(old, field.type):
            raise SchemaConflict(
                f"column {field.name!r} is {old} in the table at {uri_for_humans} but the "
                f"template now makes it {field.type}: give the column a new name, or delete the "
                "table's folder and re-materialize (backfill) every window"
            )


def _same_type(old: pa.DataType, new: pa.DataType) -> bool:
    # Delta stores lists and structs without Arrow's field names and large/view variants.
    if pa.types.is_list(old) or pa.types.is_large_list(old) or pa.types.is_list_view(old):
        return (pa.types.is_list(new) or pa.types.is_large_list(new)) and _same_type(
            old.value_type, new.value_type
        )
    if pa.types.is_struct(old):
        return pa.types.is_struct(new) and all(
            new.get_field_index(f.name) >= 0 and _same_type(f.type, new.field(f.name).type)
            for f in old
        )
    if pa.types.is_string(old) or pa.types.is_large_string(old) or pa.types.is_string_view(old):
        return pa.types.is_string(new) or pa.types.is_large_string(new)
    if pa.types.is_timestamp(old) and pa.types.is_timestamp(new):
        return (old.tz is None) == (new.tz is None)
    return old == new


def write_windows(
    uri: str,
    storage_options: dict[str, Any],
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    start: dt.datetime,
    end: dt.datetime,
    uri_for_humans: str,
    description: str = "",
) -> WriteSummary:
    """Replace the rows of ``[start, end)`` in the Delta table at ``uri`` with ``batches``."""
    table = existing_table(uri, storage_options)
    check_schema(table, schema, uri_for_humans)
    summary = WriteSummary(null_counts={f.name: 0 for f in schema})

    def counted() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            summary.rows += batch.num_rows
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                summary.null_counts[name] += column.null_count  # type: ignore[index]
            yield batch

    reader = pa.RecordBatchReader.from_batches(schema, counted())
    write_deltalake(
        uri,
        reader,
        mode="overwrite",
        predicate=window_predicate(start, end),
        schema_mode="merge",
        storage_options=storage_options or None,
        description=description or None,
    )
    summary.version = DeltaTable(uri, storage_options=storage_options or None).version()
    return summary
