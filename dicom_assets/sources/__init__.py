"""Change feeds of DICOM servers: Orthanc ``/changes``, the Azure DICOM service ``/changefeed``."""

from dicom_assets.sources.entries import ChangeAction, ChangeFeedEntry, FeedChange, FeedPoll
from dicom_assets.sources.feed import ChangeFeed

__all__ = ["ChangeAction", "ChangeFeed", "ChangeFeedEntry", "FeedChange", "FeedPoll"]
