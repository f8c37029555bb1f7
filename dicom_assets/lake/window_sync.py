"""What ``dicom_instances`` hands to the IO manager: a window's converted changes, streamed."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dicom_assets.schema import ConvertedBatch

SYNC_MODE_TAG = "dicom/sync_mode"


class SyncMode(str, enum.Enum):
    """``full`` re-syncs the whole window and replaces its files (UI materializations, backfills);
    ``incremental`` adds the changes after the window's last synced sequence (sensor runs)."""

    FULL = "full"
    INCREMENTAL = "incremental"


@dataclass
class SyncTimings:
    """Seconds spent waiting on the server, converting, and writing."""

    server: float = 0.0
    conversion: float = 0.0
    write: float = 0.0


@dataclass
class WindowSync:
    """The changes of one window, converted lazily batch by batch as the IO manager writes them,
    so that memory does not grow with the window."""

    partition_key: str
    mode: SyncMode
    after_sequence: int
    batches: Iterator[ConvertedBatch]
    http_calls: Callable[[], int]
    timings: SyncTimings = field(default_factory=SyncTimings)


def timed_batches(
    fetched: Iterator[list], convert: Callable[[list], ConvertedBatch], timings: SyncTimings
) -> Iterator[ConvertedBatch]:
    """Convert each fetched batch, splitting the time between the server and the conversion."""
    while True:
        started = time.perf_counter()
        try:
            entries = next(fetched)
        except StopIteration:
            timings.server += time.perf_counter() - started
            return
        converted_at = time.perf_counter()
        timings.server += converted_at - started
        batch = convert(entries)
        timings.conversion += time.perf_counter() - converted_at
        yield batch


def grouped_by_rows(batches: Iterator[ConvertedBatch], rows: int) -> Iterator[list[ConvertedBatch]]:
    """Consecutive batches, grouped until a group holds at least ``rows`` rows (the last group
    may hold fewer). Each group becomes one part file: few large files compress better and
    read faster than many small ones, and memory stays bounded by one group."""
    group: list[ConvertedBatch] = []
    held = 0
    for batch in batches:
        group.append(batch)
        held += batch.table.num_rows
        if held >= rows:
            yield group
            group, held = [], 0
    if group:
        yield group
