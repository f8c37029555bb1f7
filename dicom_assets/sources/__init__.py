"""Change feeds of DICOM servers: Orthanc ``/changes``, the Azure DICOM service ``/changefeed``."""

from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.sources.entries import FeedChange, FeedPoll
from dicom_assets.sources.feed import ChangeFeed

__all__ = ["ChangeAction", "ChangeFeed", "ChangeFeedEntry", "FeedChange", "FeedPoll"]
