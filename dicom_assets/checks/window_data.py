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

from dicom_assets.lake.change_log import last_synced_sequence, window_expression
from dicom_assets.lake.resource import LakeResource
from dicom_assets.partitions import window_folder

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
    last_sequence: int = (
        0  # committed with the window's rows: the last change it was synced through
    )
    files: list[str] = field(default_factory=list)

    @property
    def sequences(self) -> set[int]:
        return {value for value in self.rows["_sequence"].to_pylist() if value is not None}

    @property
    def feed_sequences(self) -> set[int]:
        """Sequences of rows that come from the feed; reconciliation's delete rows have
        negative sequences of their own (see ``sources/orthanc/reconcile.py``)."""
        return {value for value in self.sequences if value > 0}


def read_window(lake: LakeResource, partition_key: str) -> WindowContents:
    """Read a window's identity columns (with each row's data file) and quarantine records."""
    fs = lake.filesystem()
    table = lake.table()
    rows = _read_identity(table, partition_key)
    quarantine_folder = f"{lake.quarantine_root()}/{window_folder(partition_key)}"
    return WindowContents(
        partition_key=partition_key,
        folder=table.uri,
        rows=rows,
        quarantined=read_quarantine(fs, quarantine_folder),
        last_sequence=last_synced_sequence(table, partition_key),
        files=sorted(set(rows[FILE_COLUMN].to_pylist())),
    )


def _read_identity(table: Any, partition_key: str) -> pa.Table:
    """The identity columns of the window's rows in the current table version; a column the
    table lacks reads as nulls (reported by the checks, not a crash)."""
    delta = table.open_if_exists()
    if delta is None:
        return _empty_rows()
    dataset = delta.to_pyarrow_dataset()
    present = [column for column in ROW_COLUMNS if column in dataset.schema.names]
    window = window_expression(partition_key)
    parts, names = [], []
    for fragment in dataset.get_fragments(filter=window):
        part = fragment.to_table(columns=present, filter=window, schema=dataset.schema)
        parts.append(part)
        names += [fragment.path] * part.num_rows
    if not parts:
        return _empty_rows()
    read = pa.concat_tables(parts).append_column(FILE_COLUMN, pa.array(names, pa.string()))
    columns = []
    for column, kind in ROW_COLUMNS.items():
        if column in read.column_names:
            columns.append(read[column].cast(kind))
        else:
            columns.append(pa.nulls(read.num_rows, kind))
    files = [path.rsplit("/", 1)[-1] for path in read[FILE_COLUMN].to_pylist()]
    columns.append(pa.array(files, pa.string()))
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
