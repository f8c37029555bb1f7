"""The time windows of the change feed that ``dicom_instances`` is partitioned by.

Hourly, in UTC: the Azure change feed v2 pages by time window, so one partition maps onto one
``startTime``/``endTime`` query; an hour holds a few thousand instances at a busy hospital, enough
to amortise a run's start-up, small enough to re-sync quickly; and a year is 8,760 partitions,
which the Dagster UI handles. ``end_offset=1`` makes the open (current) hour a partition too, so
that changes are synced while the hour is still going on.

**Where the partitions start** (``DICOM_PARTITIONS_START``): at the window of the feed's first
change, so the UI shows the windows that can hold data, not months of empty ones before it.
``make demo`` sets it so (from Orthanc's first change, stable across restarts); a deployment
sets it once from ``dicom-assets partitions-start`` (which asks the feed for its first entry).
The default, ``2025-01-01-00:00``, only suits servers that already held data then. Changes
older than the start are never skipped silently: the sensor reports them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import HourlyPartitionsDefinition

from dicom_assets.config import PARTITION_START_FORMAT, value_of

WINDOW = timedelta(hours=1)
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"

dicom_feed_partitions = HourlyPartitionsDefinition(
    start_date=value_of("DICOM_PARTITIONS_START").strftime(PARTITION_START_FORMAT),
    timezone="UTC",
    end_offset=1,
)


def first_change_window(feed: Any) -> str | None:
    """The partition key of the feed's first change (None for an empty feed): where a new
    deployment's partitions should start. One cheap poll, no metadata."""
    poll = feed.poll(0, max_changes=1)
    if not poll.changes:
        return None
    return partition_key_of(min(change.timestamp for change in poll.changes))


def window_of(partition_key: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of a partition key such as ``2026-11-25-17:00``."""
    start = datetime.strptime(partition_key, PARTITION_KEY_FORMAT).replace(tzinfo=UTC)
    return start, start + WINDOW


def partition_key_of(timestamp: datetime) -> str:
    """The partition whose window holds ``timestamp``."""
    utc = timestamp.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0).strftime(PARTITION_KEY_FORMAT)


def window_folder(partition_key: str) -> str:
    """Folder of a window under ``result/Dicom``: ``YYYY/MM/DD/HH`` (no ``:`` in object names)."""
    start, _ = window_of(partition_key)
    return start.strftime("%Y/%m/%d/%H")
