"""The change-log rows a custom table derives from: one time range, only the needed columns,
streamed batch by batch from only the files that can hold them.

The Delta table is opened once per materialization (one snapshot for the whole range). Files are
chosen by the Delta log before any is opened: ``_date`` partitions of the range's days, then the
files' ``_timestamp`` statistics; rows are then filtered exactly by ``_timestamp`` while the
Parquet row groups are read (their statistics skip the groups outside the range). Only the
requested columns are decoded: ``_metadata``, the largest column, is never read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.dataset as ds

from dicom_assets.lake.layout import PARTITION_COLUMN, TIMESTAMP_COLUMN
from dicom_assets.lake.resource import LakeResource

# Rows per batch read (the change log's row groups hold 10,000 rows, so a busy window comes in
# batches of 10,000), and the size below which batches are joined before the derivation: small
# batches (quiet windows, one small file each) are joined; full row groups pass untouched
# (joining them copies, and larger batches raise the derivation's peak memory).
BATCH_ROWS = 65_536
JOIN_BELOW_ROWS = 10_000
_TIMESTAMP = pa.timestamp("us", tz="UTC")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def files_predicate(start: dt.datetime, end: dt.datetime) -> str:
    """The Delta log predicate choosing the files of ``[start, end)``: exact on the ``_date``
    partitions, by the files' min/max statistics on ``_timestamp``."""
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    first_day = start.astimezone(dt.UTC).date()
    return (
        f"{PARTITION_COLUMN} >= '{first_day}' AND {PARTITION_COLUMN} <= '{last_day}' AND "
        f"{TIMESTAMP_COLUMN} >= '{_utc(start)}' AND {TIMESTAMP_COLUMN} < '{_utc(end)}'"
    )


def rows_filter(start: dt.datetime, end: dt.datetime) -> ds.Expression:
    """The exact row filter of ``[start, end)`` (pushed down to the row groups' statistics)."""
    return (ds.field(TIMESTAMP_COLUMN) >= pa.scalar(start, _TIMESTAMP)) & (
        ds.field(TIMESTAMP_COLUMN) < pa.scalar(end, _TIMESTAMP)
    )


def change_batches(
    lake: LakeResource, columns: list[str], start: dt.datetime, end: dt.datetime
) -> Iterator[pa.RecordBatch]:
    """The change log's rows of ``[start, end)`` with those of ``columns`` the table has, batch
    by batch (nothing when the change log does not exist yet). Call inside
    ``lake.storage_errors()``: files are read while the batches are consumed."""
    delta = lake.table().open_if_exists()
    if delta is None:
        return
    dataset = delta.to_pyarrow_dataset(file_pruning_predicate=files_predicate(start, end))
    present = set(dataset.schema.names)
    wanted = [name for name in columns if name in present]
    scanned = dataset.to_batches(
        columns=wanted, filter=rows_filter(start, end), batch_size=BATCH_ROWS
    )
    yield from coalesced(scanned, JOIN_BELOW_ROWS)


def coalesced(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """``batches`` as they come when they hold ``rows`` rows or more, the smaller ones joined
    into batches of at least ``rows`` rows (the last may be smaller).

    The scan yields one batch per row group at most: a range of many small windows gives many
    small batches, and the derivation's cost is per batch (a few kernels per path step), so
    240 windows of 20 changes each cost 240 times the kernels of one batch of 4,800 rows.
    """
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows >= rows:
            yield batch
            continue
        if not batch.num_rows:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield _joined(pending)
            pending, count = [], 0
    if pending:
        yield _joined(pending)


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
