"""Where a time window starts in the v1 change feed, found in O(log n) cheap calls.

v1 pages by sequence only, so reading the window of 10:00-11:00 from a feed of millions of
entries would otherwise mean paging from the beginning. Sequences and timestamps grow together,
so a binary search over sequence ranges (``includeMetadata=false``, 100 sequences a probe)
finds the last sequence before the window. Sequence gaps make a probe come back empty; the
probe then walks right through the gap (gaps are short: the database skips identity values
only on restarts and rollbacks).
"""

from __future__ import annotations

from datetime import datetime

from dicom_assets.sources.azure.client import ChangeFeedClient
from dicom_assets.sources.azure.entry import change_from_json
from dicom_assets.sources.entries import FeedChange


def _first_non_empty(
    client: ChangeFeedClient, offset: int, upper: int, range_: int
) -> list[FeedChange]:
    """Changes of the first non-empty range after ``offset``, not beyond ``upper``."""
    while offset < upper:
        page = [change_from_json(raw) for raw in client.v1_range(offset, range_, False)]
        page = sorted(
            (change for change in page if offset < change.sequence <= upper),
            key=lambda change: change.sequence,
        )
        if page:
            return page
        offset += range_
    return []


def last_sequence_before(
    client: ChangeFeedClient, time: datetime, lower: int, upper: int, range_: int
) -> int:
    """A sequence ``s`` in ``[lower, upper]`` such that entries up to ``s`` are older than
    ``time`` and the first entry at or after ``time`` lies within a few ranges after ``s``.

    ``lower`` is where reading may start anyway (the caller's cursor); ``upper`` is the
    latest sequence. Reading from the result (exclusive) therefore misses no entry at or
    after ``time``, assuming timestamps grow with sequences.
    """
    low, high = lower, upper
    while high - low > range_:
        middle = (low + high) // 2
        page = _first_non_empty(client, middle, high, range_)
        if not page:
            high = middle  # nothing in (middle, high]: the boundary is at or below middle
            continue
        older = [change for change in page if change.timestamp < time]
        if not older:
            # Everything from ``middle`` to this page is at or after ``time`` (the range
            # between was empty), so the last older entry is at or below ``middle``.
            high = middle
        elif len(older) < len(page):
            return older[-1].sequence  # the boundary is inside this page
        else:
            low = older[-1].sequence
    return low
