"""The failing rows a check names, as table metadata the Dagster UI shows (what is wrong, row by
row), so that nobody reads logs to learn which ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from dicom_assets.checks.window_data import FILE_COLUMN, WindowContents
from dicom_assets.sources.entries import FeedChange

# Failing rows listed in a check's metadata; the counts are always complete.
MAX_LISTED = 50


def listed(rows: list[dict[str, Any]], columns: dict[str, str]) -> MetadataValue:
    """Up to ``MAX_LISTED`` rows as table metadata (column name -> Dagster column type)."""
    schema = TableSchema(columns=[TableColumn(name, kind) for name, kind in columns.items()])
    records = [
        TableRecord({name: _cell(row.get(name)) for name in columns}) for row in rows[:MAX_LISTED]
    ]
    return MetadataValue.table(records=records, schema=schema)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def listed_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the lake as a listing shows it."""
    return {
        "sequence": row.get("_sequence"),
        "action": row.get("_action"),
        "SOPInstanceUID": row.get("SOPInstanceUID"),
        "file": row.get(FILE_COLUMN),
    }


def rows_with_sequences(contents: WindowContents, sequences: list[int]) -> list[dict[str, Any]]:
    """The window's rows with these sequences, then its quarantined changes with them."""
    if not sequences:
        return []
    wanted = pa.array(sequences, pa.int64())
    rows = contents.rows.filter(pc.is_in(contents.rows["_sequence"], value_set=wanted)).to_pylist()
    found = [
        listed_row(row) for row in sorted(rows, key=lambda r: (r["_sequence"], r[FILE_COLUMN]))
    ]
    wanted_set = set(sequences)
    in_quarantine = [
        {
            "sequence": s,
            "action": "quarantined",
            "SOPInstanceUID": record.sop_instance_uid,
            "file": record.file,
        }
        for s, record in sorted(contents.quarantined.items())
        if s in wanted_set
    ]
    return found + in_quarantine


def change_row(change: FeedChange) -> dict[str, Any]:
    return {"sequence": change.sequence, "timestamp": change.timestamp.isoformat()}
