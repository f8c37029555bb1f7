"""What one window of the lake holds, read cheaply for the checks: identity columns only.

The checks never load ``_metadata`` or the typed attribute columns: a window's ``_sequence``,
``_timestamp``, ``_action`` and three UIDs (plus the file each row came from, so a failing check
can say where a wrong row is) are all they need, and they are a small fraction of its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from dicom_assets.io.lake_io_manager import window_state
from dicom_assets.partitions import window_folder
from dicom_assets.resources.lake import LakeResource

UID_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
ROW_COLUMNS: dict[str, pa.DataType] = {
    "_sequence": pa.int64(),
    "_timestamp": pa.timestamp("us", tz="UTC"),
    "_action": pa.string(),
    **{name: pa.string() for name in UID_COLUMNS},
}
FILE_COLUMN = "_file"


@dataclass
class QuarantineRecord:
    sequence: int
    sop_instance_uid: str | None
    reason: str
    file: str


@dataclass
class WindowContents:
    """The rows and quarantine records of one window, and the window's sync state."""

    partition_key: str
    folder: str
    rows: pa.Table  # ROW_COLUMNS plus FILE_COLUMN (the part file's name)
    quarantined: dict[int, QuarantineRecord] = field(default_factory=dict)
    last_sequence: int = 0  # the window's ``_state.json``: the last change it was synced through
    files: list[str] = field(default_factory=list)

    @property
    def sequences(self) -> set[int]:
        return {value for value in self.rows["_sequence"].to_pylist() if value is not None}

    @property
    def feed_sequences(self) -> set[int]:
        """Sequences of rows that come from the feed; reconciliation's delete rows have
        negative sequences of their own (see ``sources/reconcile.py``)."""
        return {value for value in self.sequences if value > 0}


def read_window(lake: LakeResource, partition_key: str) -> WindowContents:
    """Read a window's part files (identity columns) and its quarantine records."""
    fs = lake.filesystem()
    folder = f"{lake.dicom_root()}/{window_folder(partition_key)}"
    names = sorted(_part_file_names(fs, folder))
    tables = [_read_identity(fs, f"{folder}/{name}", name) for name in names]
    rows = pa.concat_tables(tables) if tables else _empty_rows()
    quarantine_folder = f"{lake.quarantine_root()}/{window_folder(partition_key)}"
    return WindowContents(
        partition_key=partition_key,
        folder=folder,
        rows=rows,
        quarantined=read_quarantine(fs, quarantine_folder),
        last_sequence=int(window_state(fs, folder).get("last_sequence") or 0),
        files=names,
    )


def _part_file_names(fs: Any, folder: str) -> list[str]:
    try:
        entries = fs.ls(folder, detail=False)
    except FileNotFoundError:
        return []
    names = (entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries)
    # What SQL readers see (``**/*.parquet``): the sync's part and delta files and the delete
    # rows of Orthanc reconciliation (``reconcile-*.parquet``), never hidden temporaries.
    return [name for name in names if name.endswith(".parquet") and not name.startswith((".", "_"))]


def _read_identity(fs: Any, path: str, name: str) -> pa.Table:
    """The identity columns of one part file; a column the file lacks reads as nulls (so a
    hand-made or damaged file is reported, not a crash)."""
    with fs.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        present = [column for column in ROW_COLUMNS if column in parquet.schema_arrow.names]
        table = parquet.read(columns=present)
    columns = []
    for column, kind in ROW_COLUMNS.items():
        if column in table.column_names:
            columns.append(table[column].cast(kind))
        else:
            columns.append(pa.nulls(table.num_rows, kind))
    columns.append(pa.array([name] * table.num_rows, pa.string()))
    return pa.table(columns, names=[*ROW_COLUMNS, FILE_COLUMN])


def _empty_rows() -> pa.Table:
    schema = pa.schema([*ROW_COLUMNS.items(), (FILE_COLUMN, pa.string())])
    return schema.empty_table()


def read_quarantine(fs: Any, folder: str) -> dict[int, QuarantineRecord]:
    """Quarantined changes of the window by sequence. A change quarantined by several runs
    (an incremental run, then a full re-sync of the window) counts once."""
    try:
        entries = sorted(fs.ls(folder, detail=False))
    except FileNotFoundError:
        return {}
    records: dict[int, QuarantineRecord] = {}
    for entry in entries:
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if not name.endswith(".ndjson") or name.startswith("."):
            continue
        with fs.open(entry, "rb") as handle:
            for line in handle.read().splitlines():
                if not line.strip():
                    continue
                item = orjson.loads(line)
                sequence = int(item["sequence"])
                records[sequence] = QuarantineRecord(
                    sequence=sequence,
                    sop_instance_uid=item.get("SOPInstanceUID"),
                    reason=str(item.get("reason", "")),
                    file=name,
                )
    return records
