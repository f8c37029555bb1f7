"""Counts gathered while a window is written, rendered as the materialization's metadata.

Rendered with Dagster's metadata types so the UI shows them well: ints and floats (plotted over
time on the asset page), timestamps, the Delta table's path and the commit's version and files,
a table for modalities, and the written columns as ``dagster/column_schema`` (the asset's
*Columns* section: name and Arrow type of every column the run wrote).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from dicom_assets.lake.window_sync import SyncMode, SyncTimings
from dicom_assets.schema import ConvertedBatch
from dicom_assets.schema.descriptions import column_description

NO_MODALITY = "(none)"


@dataclass
class SyncReport:
    mode: SyncMode
    after_sequence: int
    rows: int = 0
    actions: Counter = field(default_factory=Counter)
    sop_instances: set = field(default_factory=set)
    series: set = field(default_factory=set)
    studies: set = field(default_factory=set)
    modalities: Counter = field(default_factory=Counter)
    columns: dict = field(default_factory=dict)  # name -> Arrow type (text), in order seen
    quarantined: int = 0
    invalid_values: int = 0
    rows_by_reader: Counter = field(default_factory=Counter)  # "native" / "python" (schema.mixed)
    first_sequence: int | None = None
    last_sequence: int | None = None  # of the rows written
    # Highest sequence handled, rows and quarantined changes alike: where the next incremental
    # run of the window starts, so a quarantined change is not fetched (and quarantined) again.
    synced_through: int | None = None
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    http_calls: int = 0
    quarantine_files: int = 0
    commit: Any = None  # the WindowCommit of the run's Delta transaction
    timings: SyncTimings | None = None

    def add_batch(self, batch: ConvertedBatch) -> None:
        self.quarantined += len(batch.quarantined)
        self.invalid_values += batch.invalid_values
        self.rows_by_reader.update(batch.rows_by_reader)
        for item in batch.quarantined:
            self.synced_through = _max(self.synced_through, item.entry.sequence)
        table = batch.table
        if not table.num_rows:
            return
        self.rows += table.num_rows
        for column in table.schema:
            self.columns.setdefault(column.name, str(column.type))
        self.actions.update(_values(table, "_action"))
        self.sop_instances.update(_values(table, "SOPInstanceUID"))
        self.series.update(_values(table, "SeriesInstanceUID"))
        self.studies.update(_values(table, "StudyInstanceUID"))
        self._count_modalities(table)
        sequences = pc.min_max(table["_sequence"])
        timestamps = pc.min_max(table["_timestamp"])
        self.first_sequence = _min(self.first_sequence, sequences["min"].as_py())
        self.last_sequence = _max(self.last_sequence, sequences["max"].as_py())
        self.synced_through = _max(self.synced_through, self.last_sequence)
        self.first_timestamp = _min(self.first_timestamp, timestamps["min"].as_py())
        self.last_timestamp = _max(self.last_timestamp, timestamps["max"].as_py())

    def summary(self) -> str:
        """One line for logs: rows by action, instances, the Delta commit."""
        actions = ", ".join(f"{n} {a}s" for a, n in sorted(self.actions.items()))
        version = getattr(self.commit, "version", None)
        committed = "no commit" if version is None else f"table version {version}"
        return (
            f"{self.rows} rows ({actions or 'no change'}), {len(self.sop_instances)} instances, "
            f"{committed}, {self.quarantined} quarantined"
        )

    def _count_modalities(self, table: pa.Table) -> None:
        """Rows per modality, deletes left out (they carry no metadata); rows without one count
        as "(none)", so the table sums to the rows written."""
        kept = (
            table.filter(pc.not_equal(table["_action"], "delete"))
            if "_action" in table.column_names
            else table
        )
        if "Modality" in kept.column_names and pa.types.is_string(
            kept.schema.field("Modality").type
        ):
            self.modalities.update(value or NO_MODALITY for value in kept["Modality"].to_pylist())
        elif kept.num_rows:
            self.modalities[NO_MODALITY] += kept.num_rows

    def metadata(self, folder_url: str) -> dict[str, Any]:
        timings = self.timings or SyncTimings()
        metadata: dict[str, Any] = {
            "sync_mode": self.mode.value,
            "after_sequence": MetadataValue.int(self.after_sequence),
            "rows": MetadataValue.int(self.rows),
            "creates": MetadataValue.int(self.actions.get("create", 0)),
            "updates": MetadataValue.int(self.actions.get("update", 0)),
            "deletes": MetadataValue.int(self.actions.get("delete", 0)),
            "instances": MetadataValue.int(len(self.sop_instances)),
            "series": MetadataValue.int(len(self.series)),
            "studies": MetadataValue.int(len(self.studies)),
            "modalities": self._modalities_table(),
            "quarantined": MetadataValue.int(self.quarantined),
            "invalid_values": MetadataValue.int(self.invalid_values),
            "rows_native": MetadataValue.int(self.rows_by_reader["native"]),
            "rows_python": MetadataValue.int(self.rows_by_reader["python"]),
            "first_sequence": MetadataValue.int(self.first_sequence or 0),
            "last_sequence": MetadataValue.int(self.last_sequence or 0),
            "http_calls": MetadataValue.int(self.http_calls),
            "delta_version": MetadataValue.int(_attr(self.commit, "version", -1)),
            "files_added": MetadataValue.int(_attr(self.commit, "files_added", 0)),
            "files_removed": MetadataValue.int(_attr(self.commit, "files_removed", 0)),
            "commit_seconds": MetadataValue.float(round(_attr(self.commit, "seconds", 0.0), 3)),
            "column_count": MetadataValue.int(len(self.columns)),
            "server_seconds": MetadataValue.float(round(timings.server, 3)),
            "conversion_seconds": MetadataValue.float(round(timings.conversion, 3)),
            "write_seconds": MetadataValue.float(round(timings.write, 3)),
            "table": MetadataValue.path(folder_url),
        }
        # Timestamps render as dates in the UI; an empty write has none (no placeholder).
        if self.first_timestamp is not None:
            metadata["first_timestamp"] = MetadataValue.timestamp(self.first_timestamp)
        if self.last_timestamp is not None:
            metadata["last_timestamp"] = MetadataValue.timestamp(self.last_timestamp)
        if self.columns:
            metadata["dagster/column_schema"] = MetadataValue.table_schema(
                TableSchema(
                    columns=[
                        TableColumn(name, kind, description=column_description(name))
                        for name, kind in self.columns.items()
                    ]
                )
            )
        return metadata

    def _modalities_table(self) -> MetadataValue:
        schema = TableSchema(
            columns=[TableColumn("modality", "string"), TableColumn("rows", "int")]
        )
        records = [
            TableRecord({"modality": modality, "rows": count})
            for modality, count in self.modalities.most_common()
        ]
        return MetadataValue.table(records=records, schema=schema)


def _attr(commit, name: str, default):
    value = getattr(commit, name, None) if commit is not None else None
    return default if value is None else value


def _values(table: pa.Table, column: str) -> list:
    if column not in table.column_names:
        return []
    return [value for value in table[column].to_pylist() if value is not None]


def _min(current, candidate):
    return (
        candidate if current is None or (candidate is not None and candidate < current) else current
    )


def _max(current, candidate):
    return (
        candidate if current is None or (candidate is not None and candidate > current) else current
    )
