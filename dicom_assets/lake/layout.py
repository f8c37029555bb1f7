"""The lake's layout: where its tables are, how they are partitioned, what a window is in them.

``<lake>/result/Dicom/`` is one Delta Lake table, the change log: one row per change-feed entry.
It is partitioned by ``_date``, the UTC day of ``_timestamp`` (docs/storage.md says why): a
window (one hour, one Dagster partition of ``dicom_instances``) lies inside one day, so a
window's overwrite and a query by date touch one partition folder. Rows of a window are
selected by their ``_timestamp`` range, never by file names.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from dicom_assets.partitions import window_of

DICOM_FOLDER = "result/Dicom"
QUARANTINE_FOLDER = "result/Dicom_Quarantine"
CUSTOMIZED_FOLDER = "result/Dicom_Customized"
# The lake's own indexes: derived from the change log, rebuilt from it when missing, and kept
# outside every table's folder so that no reader (Delta, Synapse's ``*.parquet`` globs) sees
# them. ``current_instances.parquet``: the latest row per SOP behind reconciliation
# (``lake/current_index.py``).
INDEX_FOLDER = "result/_dicom_index"
CURRENT_INSTANCES_INDEX = f"{INDEX_FOLDER}/current_instances.parquet"

PARTITION_COLUMN = "_date"
PARTITION_TYPE = pa.date32()
TIMESTAMP_COLUMN = "_timestamp"
SEQUENCE_COLUMN = "_sequence"
# The columns that identify an instance and order its changes: enough for reconciliation and
# for ``current_instances``; reading only these keeps such reads cheap at any lake size.
IDENTITY_COLUMNS = (
    "_sequence",
    "_action",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
)


def sync_app_id(table: str, partition_key: str) -> str:
    """The Delta application-transaction id under which a window's last synced sequence is
    committed (``txn`` action: ``appId`` and ``version``), e.g.
    ``dicom_instances/2026-11-25-17:00``."""
    return f"{table}/{partition_key}"


def _literal(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window_predicate(partition_key: str, feed_rows_only: bool = True) -> str:
    """The delta-rs predicate of a window's rows (for a predicate overwrite or delete).

    ``feed_rows_only``: rows written by the feed's sync only (``_sequence > 0``); the delete rows
    of Orthanc reconciliation carry negative sequences and are not the feed's to replace.
    """
    start, end = window_of(partition_key)
    predicate = (
        f"{PARTITION_COLUMN} = '{start:%Y-%m-%d}' "
        f"AND {TIMESTAMP_COLUMN} >= '{_literal(start)}' AND {TIMESTAMP_COLUMN} < '{_literal(end)}'"
    )
    if feed_rows_only:
        predicate += f" AND {SEQUENCE_COLUMN} > 0"
    return predicate


def window_filter(partition_key: str) -> list[tuple[str, str, object]]:
    """The same window as DNF filters for ``DeltaTable.to_pyarrow_dataset``/readers that take
    filters (partition pruning on ``_date`` first)."""
    start, end = window_of(partition_key)
    return [
        (PARTITION_COLUMN, "=", start.date()),
        (TIMESTAMP_COLUMN, ">=", start),
        (TIMESTAMP_COLUMN, "<", end),
    ]


def with_partition_column(table: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """``table`` with ``_date`` (UTC day of ``_timestamp``) appended, replacing any given one."""
    if PARTITION_COLUMN in table.schema.names:
        table = table.drop_columns([PARTITION_COLUMN])
    timestamps = table.column(TIMESTAMP_COLUMN)
    if timestamps.type.tz is not None:
        timestamps = pc.cast(timestamps, pa.timestamp(timestamps.type.unit, tz="UTC"))
    days = pc.cast(pc.cast(timestamps, pa.timestamp(timestamps.type.unit)), PARTITION_TYPE)
    return table.append_column(pa.field(PARTITION_COLUMN, PARTITION_TYPE), days)
