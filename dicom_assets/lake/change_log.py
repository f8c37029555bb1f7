"""The change log's public API: read a window, read identities, know how far a window is synced.

Others build on these (SQL views, checks, reconciliation, tables derived per window): they
never list files or parse the Delta log themselves. Writing goes through
:func:`dicom_assets.lake.writer.write_window` (re-exported here), the same atomic per-window
overwrite or append for the change log and for derived tables.

Reads see one table version (a snapshot): maintenance (compaction, vacuum) never makes them
fail, as vacuum only deletes files no version within the retention period references, and no
read here asks for an older version (no time travel, so no read can reach a vacuumed file).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable

from dicom_assets.lake.layout import (
    IDENTITY_COLUMNS,
    PARTITION_COLUMN,
    TIMESTAMP_COLUMN,
    sync_app_id,
)
from dicom_assets.lake.writer import DeltaLocation, WindowCommit, WriteMode, write_window
from dicom_assets.partitions import window_of

__all__ = [
    "ChangeLogFiles",
    "DeltaLocation",
    "WindowCommit",
    "WriteMode",
    "change_log_files",
    "current_identities",
    "last_synced_sequence",
    "read_window",
    "table_columns",
    "write_window",
]

DICOM_INSTANCES = "dicom_instances"


def _location(table) -> DeltaLocation:
    """A :class:`DeltaLocation`, a table URI, or a ``LakeResource`` (its change log)."""
    if isinstance(table, DeltaLocation):
        return table
    if isinstance(table, str):
        return DeltaLocation(table)
    return table.table()


def window_expression(partition_key: str) -> ds.Expression:
    start, end = window_of(partition_key)
    return (
        (ds.field(PARTITION_COLUMN) == pa.scalar(start.date(), pa.date32()))
        & (ds.field(TIMESTAMP_COLUMN) >= pa.scalar(start, pa.timestamp("us", tz="UTC")))
        & (ds.field(TIMESTAMP_COLUMN) < pa.scalar(end, pa.timestamp("us", tz="UTC")))
    )


def read_window(table, partition_key: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Every row of one window (``partition_key`` of ``dicom_instances``), as of the latest
    table version; only ``columns`` when given (names missing from the table are skipped).
    ``table``: a ``LakeResource`` (its change log), a :class:`DeltaLocation` or a local URI.
    A table that does not exist yet reads as an empty table."""
    location = _location(table)
    delta = location.open_if_exists()
    if delta is None:
        return pa.table({})
    dataset = delta.to_pyarrow_dataset()
    wanted = None
    if columns is not None:
        wanted = [name for name in columns if name in dataset.schema.names]
    return dataset.to_table(columns=wanted, filter=window_expression(partition_key))


def table_columns(table) -> list[str]:
    """The table's column names (empty when it does not exist)."""
    delta = _location(table).open_if_exists()
    return [] if delta is None else list(pa.schema(delta.schema().to_arrow()).names)


def current_identities(table, extra_columns: Sequence[str] = ()) -> pa.Table:
    """The identity columns (plus ``extra_columns`` present in the table) of every row: the
    cheap read behind reconciliation (Parquet is columnar: the other columns are not read)."""
    delta = _location(table).open_if_exists()
    if delta is None:
        return pa.table({name: pa.array([], pa.string()) for name in IDENTITY_COLUMNS})
    return identity_rows(delta.to_pyarrow_dataset(), extra_columns)


def identity_rows(dataset: ds.Dataset, extra_columns: Sequence[str] = ()) -> pa.Table:
    """:func:`current_identities` of the files of ``dataset`` (all or some of the table's)."""
    names = set(dataset.schema.names)
    columns = [name for name in (*IDENTITY_COLUMNS, *extra_columns) if name in names]
    return dataset.to_table(columns=columns)


def column_where_null(dataset: ds.Dataset, column: str, where_null: str) -> pa.Table:
    """``SOPInstanceUID``, ``_sequence`` and ``column`` of the rows of ``dataset`` where
    ``where_null`` is null (every row when the table has no such column)."""
    names = set(dataset.schema.names)
    if column not in names:
        return pa.table({})
    flt = pc.is_null(ds.field(where_null)) if where_null in names else None
    return dataset.to_table(columns=["_sequence", "SOPInstanceUID", column], filter=flt)


# A pruning predicate no file matches: ``to_pyarrow_dataset`` then builds the dataset's frame
# (schema, format, the table's filesystem) without a fragment. Building the fragments of every
# file costs ~3 ms per file (delta-rs turns each file's statistics into an expression), which
# a read of a few new files out of hundreds must not pay.
_NO_FILE = [(PARTITION_COLUMN, "=", "0001-01-01")]


@dataclass(frozen=True)
class ChangeLogFiles:
    """The change log's data files at one table version, listed from its log (no data file is
    read), to read all of them or only some (their paths as the log names them, relative to
    the table). Data files are immutable: a path read once never holds other rows."""

    delta: DeltaTable
    table_id: str  # the Delta table's id: a table deleted and written anew gets another
    version: int
    paths: list[str]
    days: list  # each file's ``_date`` partition value (datetime.date)

    @property
    def dataset(self) -> ds.FileSystemDataset:
        """Every file of the table version."""
        return self.delta.to_pyarrow_dataset()

    def only(self, paths: Collection[str]) -> ds.FileSystemDataset:
        """The files in ``paths`` only, as one dataset (the table's schema and filesystem)."""
        frame = self.delta.to_pyarrow_dataset(file_pruning_predicate=_NO_FILE)
        wanted = set(paths)
        day_type = frame.schema.field(PARTITION_COLUMN).type
        fragments = [
            frame.format.make_fragment(
                path,
                filesystem=frame.filesystem,
                partition_expression=ds.field(PARTITION_COLUMN) == pa.scalar(day, day_type),
            )
            for path, day in zip(self.paths, self.days)
            if path in wanted
        ]
        return ds.FileSystemDataset(fragments, frame.schema, frame.format, frame.filesystem)


def change_log_files(table) -> ChangeLogFiles | None:
    """The change log's files at its latest version (None: the table does not exist yet)."""
    delta = _location(table).open_if_exists()
    if delta is None:
        return None
    actions = pa.table(delta.get_add_actions(flatten=True))
    days_column = f"partition.{PARTITION_COLUMN}"
    paths = actions["path"].to_pylist()
    days = actions[days_column].to_pylist() if days_column in actions.column_names else []
    return ChangeLogFiles(delta, delta.metadata().id, delta.version(), paths, days)


def last_synced_sequence(table, partition_key: str, app: str = DICOM_INSTANCES) -> int:
    """The sequence a window was last synced through, as committed with its rows (0: never)."""
    delta = _location(table).open_if_exists()
    if delta is None:
        return 0
    return int(delta.transaction_version(sync_app_id(app, partition_key)) or 0)


def last_synced_in_history(table, commits: int = 50) -> int:
    """The highest ``dicom.synced_through`` among the newest ``commits`` commits (0: none)."""
    delta = _location(table).open_if_exists()
    if delta is None:
        return 0
    last = 0
    for commit in delta.history(commits):
        value = commit.get("dicom.synced_through")
        if value is not None:
            last = max(last, int(value))
    return last
