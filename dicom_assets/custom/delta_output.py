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

import pyarrow as pa
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    WriterProperties,
    write_deltalake,
)

from dicom_assets.lake.schema_guard import LakeSchemaConflict, check_schema
from dicom_assets.lake.writer import MAX_COMMIT_RETRIES, DeltaLocation
from dicom_assets.schema.portable import check_portable


class SchemaConflict(ValueError):
    """The template gives a column a type other than the one the table already has."""


@dataclass
class WriteSummary:
    rows: int = 0
    version: int = -1
    null_counts: dict[str, int] | None = None


# Parquet settings of the table's files. Values unique per row (sequence, timestamp, UIDs) skip
# dictionary encoding, which the writer would try and abandon on every column chunk; the rest
# (codes, models, dates) keep it. Statistics per column chunk, not per page: readers (delta-rs,
# DuckDB, Synapse) and the Delta log's file statistics use the chunks' min/max; page indexes
# would be computed for nothing. Snappy as delta-rs's default. Measured: ~25% less CPU per
# write of 100,000 rows (docs/performance.md, "Custom tables").
UNIQUE_COLUMNS = (
    "_sequence",
    "_timestamp",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
)
WRITER_PROPERTIES = WriterProperties(
    compression="SNAPPY",
    default_column_properties=ColumnProperties(statistics_enabled="CHUNK"),
    column_properties={
        name: ColumnProperties(dictionary_enabled=False, statistics_enabled="CHUNK")
        for name in UNIQUE_COLUMNS
    },
)


def _utc_literal(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window_predicate(start: dt.datetime, end: dt.datetime) -> str:
    """The Delta predicate selecting the rows of ``[start, end)``."""
    return f"_timestamp >= '{_utc_literal(start)}' AND _timestamp < '{_utc_literal(end)}'"


def _check_types(table: DeltaTable | None, schema: pa.Schema, shown: str) -> None:
    """The lake's own guard (one rule for every table), with the way out for a template."""
    try:
        check_schema(table.schema().to_arrow() if table is not None else None, schema, shown)
    except LakeSchemaConflict as error:
        raise SchemaConflict(
            f"{error} The template changed the type of a column: give the column a new name, or "
            "delete the table's folder and re-materialize (backfill) every window."
        ) from None


def write_windows(
    location: DeltaLocation,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    start: dt.datetime,
    end: dt.datetime,
    shown: str,
    description: str = "",
) -> WriteSummary:
    """Replace the rows of ``[start, end)`` in the Delta table at ``location`` with ``batches``
    (``shown``: the table's address without secrets, for messages)."""
    check_portable(schema)  # as the change log's writer: a type some reader cannot read, never
    # Opened once: checked, written through (delta-rs moves it to the new version), asked for
    # its version; each open replays the table's log.
    existing = location.open_if_exists()
    _check_types(existing, schema, shown)
    summary = WriteSummary(null_counts={f.name: 0 for f in schema})

    def counted() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            summary.rows += batch.num_rows
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                summary.null_counts[name] += column.null_count  # type: ignore[index]
            yield batch

    window = f"{_utc_literal(start)}/{_utc_literal(end)}"
    write_deltalake(
        existing if existing is not None else location.uri,
        pa.RecordBatchReader.from_batches(schema, counted()),
        mode="overwrite",
        predicate=window_predicate(start, end),
        schema_mode="merge",
        storage_options=location.storage_options or None,
        writer_properties=WRITER_PROPERTIES,
        description=description or None,
        commit_properties=CommitProperties(
            custom_metadata={"dicom.windows": window}, max_commit_retries=MAX_COMMIT_RETRIES
        ),
    )
    summary.version = (existing if existing is not None else location.open()).version()
    return summary
