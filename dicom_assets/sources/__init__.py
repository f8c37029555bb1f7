"""Change feeds of DICOM servers: Orthanc ``/changes`` and the Azure DICOM service ``/changefeed``."""

from dicom_assets.sources.entries import (
    ChangeAction,
    ChangeFeed,
    ChangeFeedEntry,
    FeedChange,
    FeedPoll,
)

__all__ = ["ChangeAction", "ChangeFeed", "ChangeFeedEntry", "FeedChange", "FeedPoll"]
