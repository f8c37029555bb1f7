"""The time windows of the change feed that ``dicom_instances`` is partitioned by.

Hourly, in UTC: the Azure change feed v2 pages by time window, so one partition maps onto one
``startTime``/``endTime`` query; an hour holds a few thousand instances at a busy hospital, enough
to amortise a run's start-up, small enough to re-sync quickly; and a year is 8,760 partitions,
which the Dagster UI handles. ``end_offset=1`` makes the open (current) hour a partition too, so
that changes are synced while the hour is still going on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import HourlyPartitionsDefinition

from dicom_assets.config import PARTITION_START_FORMAT, value_of

WINDOW = timedelta(hours=1)
PARTITION_KEY_FORMAT = "%Y-%m-%d-%H:%M"

dicom_feed_partitions = HourlyPartitionsDefinition(
    start_date=value_of("DICOM_PARTITIONS_START").strftime(PARTITION_START_FORMAT),
    timezone="UTC",
    end_offset=1,
)


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
