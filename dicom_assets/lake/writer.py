"""Delta commits of one window: one transaction per run, the window's progress committed with it.

``write_window`` is the one way rows enter a lake table (the change log, and tables derived
from it per window):

- ``mode="append"`` adds the rows (an incremental sync: the changes after the last synced one);
- ``mode="overwrite"`` replaces the window's rows in one predicate overwrite (a full re-sync,
  a backfill): a reader sees the old rows or the new ones, never both, never neither;
- ``app_id``/``version``: a Delta application transaction (``txn`` action) committed in the same
  transaction as the rows. For the change log it is the window's last synced sequence: a killed
  run commits neither, its rerun both, so every change lands exactly once;
- the table schema merges new columns and nested fields; a changed type is refused before
  anything is written (:mod:`dicom_assets.lake.schema_guard`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

from dicom_assets.lake.layout import PARTITION_COLUMN, window_predicate, with_partition_column
from dicom_assets.lake.parquet_options import writer_properties
from dicom_assets.lake.schema_guard import check_schema
from dicom_assets.lake.staging import StagedRows
from dicom_assets.schema.portable import check_portable

WriteMode = Literal["append", "overwrite"]
MAX_COMMIT_RETRIES = 50  # concurrent windows append to one table: delta-rs retries the commit


@dataclass(frozen=True)
class DeltaLocation:
    """A Delta table: its URI and the storage options that reach it (secrets: never log)."""

    uri: str
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)

    def open(self, version: int | None = None) -> DeltaTable:
        return DeltaTable(self.uri, version=version, storage_options=self.storage_options or None)

    def open_if_exists(self) -> DeltaTable | None:
        try:
            return self.open()
        except TableNotFoundError:
            return None


@dataclass
class WindowCommit:
    """What one ``write_window`` committed."""

    version: int | None  # the table version created (None: the table did not change)
    rows: int
    files_added: int = 0
    files_removed: int = 0
    seconds: float = 0.0


def _location(table: DeltaLocation | str) -> DeltaLocation:
    return table if isinstance(table, DeltaLocation) else DeltaLocation(str(table))


def write_window(
    table: DeltaLocation | str,
    partition_key: str,
    data: pa.Table | pa.RecordBatchReader | Iterable[pa.Table | pa.RecordBatch] | StagedRows,
    mode: WriteMode,
    *,
    app_id: str | None = None,
    version: int | None = None,
    empty_schema: pa.Schema | None = None,
    metadata: dict[str, str] | None = None,
    feed_rows_only: bool = True,
) -> WindowCommit:
    """Commit ``data`` (rows of the window ``partition_key`` only) to ``table`` in one
    transaction; see the module docstring. ``data`` may be rows staged already (the IO manager
    stages while it converts): they stay the caller's to close. ``empty_schema`` types an empty
    write when the table does not exist yet. ``feed_rows_only`` (overwrite): replace only rows
    with a positive ``_sequence`` (the change log keeps reconciliation's delete rows); a table
    derived per window passes False to replace all of the window's rows."""
    staging = nullcontext(data) if isinstance(data, StagedRows) else _staged(data)
    with staging as staged:
        started = time.perf_counter()
        location = _location(table)
        schema = staged.schema(empty_schema)
        if schema is None:
            raise ValueError(f"nothing to write to {location.uri} and no schema to create it with")
        check_portable(schema)  # a type some reader cannot read is never committed
        schema = with_partition_column(schema.empty_table()).schema
        existing = location.open_if_exists()
        check_schema(
            pa.schema(existing.schema().to_arrow()) if existing else None, schema, location.uri
        )
        if existing is not None and mode == "append" and staged.rows == 0 and app_id is None:
            return WindowCommit(version=None, rows=0, seconds=time.perf_counter() - started)
        batches = (
            batch
            for group in staged.groups(schema.remove(schema.get_field_index(PARTITION_COLUMN)))
            for batch in with_partition_column(group).to_batches()
        )
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        commit = CommitProperties(
            custom_metadata={"dicom.window": partition_key, **(metadata or {})},
            app_transactions=[Transaction(app_id, int(version or 0))] if app_id else None,
            max_commit_retries=MAX_COMMIT_RETRIES,
        )
        predicate = window_predicate(partition_key, feed_rows_only) if mode == "overwrite" else None
        write_deltalake(
            location.uri,
            reader,
            mode=mode,
            predicate=predicate,
            partition_by=[PARTITION_COLUMN],
            schema_mode="merge",
            storage_options=location.storage_options or None,
            writer_properties=writer_properties(schema),
            commit_properties=commit,
        )
        written = location.open()
        metrics = (written.history(1) or [{}])[0].get("operationMetrics", {})
        return WindowCommit(
            version=written.version(),
            rows=staged.rows,
            files_added=int(metrics.get("num_added_files", 0) or 0),
            files_removed=int(metrics.get("num_removed_files", 0) or 0),
            seconds=time.perf_counter() - started,
        )


@contextmanager
def _staged(data) -> Iterator[StagedRows]:
    """``data`` staged, the staged files removed on exit."""
    with StagedRows() as staged:
        for part in _parts(data):
            staged.add(part)
        yield staged


def _parts(data) -> Iterable[pa.Table | pa.RecordBatch]:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return [data]
    return data
