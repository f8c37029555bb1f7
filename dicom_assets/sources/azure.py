"""The Azure DICOM service as a source: its change feed, its authentication, its errors.

The implementation is split by concern:

* :mod:`dicom_assets.sources.azure_feed` - :class:`AzureChangeFeed` (the ``ChangeFeed``);
* :mod:`dicom_assets.sources.azure_client` - the routes, request shapes and errors;
* :mod:`dicom_assets.sources.azure_v1_search` - finding a window's start in v1;
* :mod:`dicom_assets.sources.azure_entry` - camelCase entries into ``ChangeFeedEntry``;
* :mod:`dicom_assets.sources.azure_auth` - Entra ID bearer tokens (``DICOM_AUTH=azure``).

See ``docs/azure-dicom.md`` for configuration and design decisions.
"""

from dicom_assets.sources.azure_auth import (
    DEFAULT_AUDIENCE,
    BearerTokenProvider,
    auth_header_for,
    bearer_token_provider,
)
from dicom_assets.sources.azure_client import V1_MAX_LIMIT, V2_MAX_LIMIT, ChangeFeedError
from dicom_assets.sources.azure_entry import ChangeFeedEntryError, entry_from_json
from dicom_assets.sources.azure_feed import TIMESTAMP_SKEW, AzureChangeFeed

__all__ = [
    "DEFAULT_AUDIENCE",
    "TIMESTAMP_SKEW",
    "V1_MAX_LIMIT",
    "V2_MAX_LIMIT",
    "AzureChangeFeed",
    "BearerTokenProvider",
    "ChangeFeedEntryError",
    "ChangeFeedError",
    "auth_header_for",
    "bearer_token_provider",
    "entry_from_json",
]
