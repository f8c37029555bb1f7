"""The Azure DICOM service as a source: its change feed, its authentication, its errors.

The implementation is split by concern:

* :mod:`dicom_assets.sources.azure.feed` - :class:`AzureChangeFeed` (the ``ChangeFeed``);
* :mod:`dicom_assets.sources.azure.client` - the routes, request shapes and errors;
* :mod:`dicom_assets.sources.azure.v1_search` - finding a window's start in v1;
* :mod:`dicom_assets.sources.azure.entry` - camelCase entries into ``ChangeFeedEntry``;
* :mod:`dicom_assets.sources.azure.auth` - Entra ID bearer tokens (``DICOM_AUTH=azure``).

See ``docs/azure-dicom.md`` for configuration and design decisions.
"""

from dicom_assets.sources.azure.auth import (
    DEFAULT_AUDIENCE,
    BearerTokenProvider,
    auth_header_for,
    bearer_token_provider,
)
from dicom_assets.sources.azure.client import V1_MAX_LIMIT, V2_MAX_LIMIT, ChangeFeedError
from dicom_assets.sources.azure.entry import ChangeFeedEntryError, entry_from_json
from dicom_assets.sources.azure.feed import TIMESTAMP_SKEW, AzureChangeFeed
from dicom_assets.sources.http import CountingSession

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
    "open_feed",
]


def open_feed(server) -> AzureChangeFeed:
    """The feed of ``server`` (a ``DicomServerResource`` with ``kind="azure"``)."""
    auth_header = None
    if server.auth.lower() == "azure":
        auth_header = bearer_token_provider(server.audience)
    elif server.auth.lower() != "none":
        raise ValueError(f"DICOM_AUTH must be 'none' or 'azure', not {server.auth!r}")
    return AzureChangeFeed(
        server.validated_url(),
        api_version=server.api_version,
        session=CountingSession(auth_header=auth_header),
    )
