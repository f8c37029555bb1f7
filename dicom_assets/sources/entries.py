"""What the sensor learns from a feed: the changes after its cursor (no metadata). The entries
themselves (:class:`ChangeFeedEntry`) live in ``dicom_assets.feed_entry``, which ``schema/``
reads too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedChange:
    """A change seen by the sensor: enough to know which window it falls in, no metadata."""

    sequence: int
    timestamp: datetime  # timezone-aware, UTC


@dataclass(frozen=True)
class FeedPoll:
    """What one sensor poll found after its cursor, and where the next poll starts."""

    changes: list[FeedChange]
    next_cursor: int
