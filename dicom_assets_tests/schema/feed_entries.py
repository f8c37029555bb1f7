"""Change-feed entries around DICOM JSON, for the schema tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry

T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def entry_for(
    metadata: Any,
    sequence: int = 1,
    action: ChangeAction = ChangeAction.CREATE,
    uids: tuple[str | None, str | None, str | None] = (None, None, None),
) -> ChangeFeedEntry:
    """A change-feed entry carrying ``metadata`` (UIDs fall back to the metadata's)."""
    return ChangeFeedEntry(
        sequence=sequence,
        timestamp=T0 + dt.timedelta(seconds=sequence),
        action=action,
        study_instance_uid=uids[0],
        series_instance_uid=uids[1],
        sop_instance_uid=uids[2],
        metadata=metadata,
    )
