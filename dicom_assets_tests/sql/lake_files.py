"""Small Parquet part files with the lake's column contract, for the SQL-layer tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

PN = pa.struct(
    [("Alphabetic", pa.string()), ("Ideographic", pa.string()), ("Phonetic", pa.string())]
)
CODE_ITEM = pa.struct([("CodeValue", pa.string()), ("CodeMeaning", pa.string())])
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def part_table(
    first_sequence: int, rows: list[dict], extra: dict[str, pa.Array] | None = None
) -> pa.Table:
    """A part file's table: contract columns first, then ``extra`` attribute columns, then
    ``_private``, ``_invalid``, ``_metadata``. ``rows`` give action/UIDs/Modality per row."""
    count = len(rows)
    columns: dict[str, pa.Array] = {
        "_sequence": pa.array(range(first_sequence, first_sequence + count), pa.int64()),
        "_timestamp": pa.array(
            [START + timedelta(minutes=first_sequence + i) for i in range(count)],
            pa.timestamp("us", tz="UTC"),
        ),
        "_action": pa.array([row["action"] for row in rows], pa.string()),
        "StudyInstanceUID": pa.array([row["study"] for row in rows], pa.string()),
        "SeriesInstanceUID": pa.array([row["series"] for row in rows], pa.string()),
        "SOPInstanceUID": pa.array([row["sop"] for row in rows], pa.string()),
        "Modality": pa.array([row.get("modality") for row in rows], pa.string()),
    }
    columns.update(extra or {})
    columns["_private"] = pa.array([None] * count, pa.string())
    columns["_invalid"] = pa.array([None] * count, pa.string())
    columns["_metadata"] = pa.array(
        [
            None
            if row["action"] == "delete"
            else json.dumps({"00080060": {"vr": "CS", "Value": [row.get("modality")]}})
            for row in rows
        ],
        pa.string(),
    )
    return pa.table(columns)


def write_part(
    fs: fsspec.AbstractFileSystem,
    dicom_root: str,
    hour: datetime,
    table: pa.Table,
    **options,
) -> str:
    """Write ``table`` where the lake puts it:
    ``<root>/YYYY/MM/DD/HH/part-<first>-<last>.parquet``."""
    sequences = table.column("_sequence").to_pylist()
    folder = f"{dicom_root}/{hour:%Y/%m/%d/%H}"
    fs.makedirs(folder, exist_ok=True)
    path = f"{folder}/part-{sequences[0]}-{sequences[-1]}.parquet"
    with fs.open(path, "wb") as handle:
        pq.write_table(table, handle, **options)
    return path
