"""Keeping the Delta table fast and small: compaction, checkpoints, vacuum.

- **Compaction.** Each sensor run commits a small file (a few changes). A day partition (``_date``)
  holding at least ``compact_after`` files smaller than ``SMALL_FILE_BYTES`` is compacted with
  delta-rs' ``optimize.compact`` into files of up to ``TARGET_FILE_BYTES``: a new table version
  that removes the small files and adds the merged one (``dataChange=false``), so readers and
  the window's app transaction are unaffected.
- **Checkpoint.** A Parquet checkpoint of the log after maintenance, so opening the table reads
  one checkpoint and a few JSON commits instead of every commit since the start.
- **Vacuum.** Files no longer referenced by any version younger than the retention
  (``DICOM_VACUUM_RETENTION_HOURS``, default 168 h) are deleted. A reader holding an older
  snapshot opened within the retention still reads it; the product never time-travels (no
  read of a version that vacuum may have reached, hence no FileNotFoundError from delta-rs).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from dicom_assets.lake.layout import PARTITION_COLUMN
from dicom_assets.lake.writer import DeltaLocation

SMALL_FILE_BYTES = 16 * 2**20
TARGET_FILE_BYTES = 128 * 2**20
DEFAULT_COMPACT_AFTER = 16


@dataclass
class MaintenanceReport:
    compacted_partitions: list[str] = field(default_factory=list)
    files_removed: int = 0
    files_added: int = 0
    vacuumed_files: int = 0
    checkpoint_version: int | None = None
    seconds: float = 0.0


def partitions_to_compact(table, compact_after: int = DEFAULT_COMPACT_AFTER) -> list[str]:
    """``_date`` values whose partition holds at least ``compact_after`` small files."""
    actions = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    column = f"partition.{PARTITION_COLUMN}"
    if column not in actions:
        return []
    small = Counter(
        str(value)
        for value, size in zip(actions[column], actions["size_bytes"])
        if size < SMALL_FILE_BYTES
    )
    return sorted(day for day, count in small.items() if count >= compact_after)


def compact(
    location: DeltaLocation, compact_after: int = DEFAULT_COMPACT_AFTER
) -> MaintenanceReport:
    """Compact every day partition with many small files (one optimize commit per partition)."""
    started = time.perf_counter()
    report = MaintenanceReport()
    table = location.open_if_exists()
    if table is None:
        return report
    from dicom_assets.lake.parquet_options import writer_properties

    properties = writer_properties(pa.schema(table.schema().to_arrow()))
    for day in partitions_to_compact(table, compact_after):
        metrics = table.optimize.compact(
            partition_filters=[(PARTITION_COLUMN, "=", day)],
            target_size=TARGET_FILE_BYTES,
            writer_properties=properties,
        )
        report.compacted_partitions.append(day)
        report.files_removed += int(metrics.get("numFilesRemoved", 0))
        report.files_added += int(metrics.get("numFilesAdded", 0))
    report.seconds = time.perf_counter() - started
    return report


def maintain(
    location: DeltaLocation,
    retention_hours: int,
    compact_after: int = DEFAULT_COMPACT_AFTER,
) -> MaintenanceReport:
    """Compact, checkpoint, vacuum (in this order: vacuum then drops the compacted-away files
    once they are older than the retention)."""
    started = time.perf_counter()
    report = compact(location, compact_after)
    table = location.open_if_exists()
    if table is None:
        return report
    table.create_checkpoint()
    report.checkpoint_version = table.version()
    deleted = table.vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        # The retention is the operator's, validated when the definitions load (config.py).
        enforce_retention_duration=False,
    )
    report.vacuumed_files = len(deleted)
    report.seconds = time.perf_counter() - started
    return report
