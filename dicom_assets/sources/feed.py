"""What a DICOM server's change feed can do (:class:`ChangeFeed`), and which package opens the
feed of each ``DICOM_SERVER_KIND`` (:data:`SERVERS`).

A server is one package under ``sources/`` with an ``open_feed(server)`` function; adding one is
that package plus one line in :data:`SERVERS` (and its name in ``DICOM_SERVER_KIND``'s accepted
values in ``config.py``). Callers ask the feed what it can do, never which server it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Protocol

from dicom_assets.feed_entry import ChangeFeedEntry
from dicom_assets.sources.entries import FeedChange, FeedPoll

# DICOM_SERVER_KIND -> the package whose ``open_feed(server)`` returns its ChangeFeed.
SERVERS: dict[str, str] = {
    "orthanc": "dicom_assets.sources.orthanc",
    "azure": "dicom_assets.sources.azure",
}


class ChangeFeed(Protocol):
    """A DICOM server's change feed, as the sensor, the asset and the checks use it.

    ``http_calls`` counts every HTTP request made so far (the server may charge per call).
    ``forgets_deleted_changes``: the server logs no change when an instance is deleted and drops
    the earlier changes of that instance (Orthanc). The lake then rightly holds changes the feed
    no longer lists (the completeness check allows for them), and deletions are found only by
    :meth:`reconcile`, which such a feed must provide (``reconcile_job.py`` runs it). A feed that
    reports its deletes (Azure) sets it to ``False`` and need not define ``reconcile``.
    """

    http_calls: int
    forgets_deleted_changes: ClassVar[bool]
    sequence_meaning: ClassVar[str]  # what its sequence numbers count (observability.py)

    def poll(self, after_sequence: int, max_changes: int = 10_000) -> FeedPoll:
        """Changes with a sequence greater than ``after_sequence`` (cheap: no metadata)."""
        ...

    def entries_between(
        self, start: datetime, end: datetime, after_sequence: int = 0
    ) -> Iterator[list[ChangeFeedEntry]]:
        """Batches of entries whose timestamp is in ``[start, end)``, with metadata, in order
        of sequence; entries with a sequence at or below ``after_sequence`` are skipped."""
        ...

    def changes_between(self, start: datetime, end: datetime) -> list[FeedChange]:
        """The changes whose timestamp is in ``[start, end)``, without metadata (the window
        checks compare them with the lake's rows)."""
        ...

    def reconcile(self, table: Any, deidentifier: Any = None) -> Any:
        """Only when ``forgets_deleted_changes``: write a delete row for each instance the lake
        holds as current that the server no longer holds; returns the pass's counts."""
        ...


def open_change_feed(server: Any) -> ChangeFeed:
    """A new change-feed client for ``server`` (a ``DicomServerResource``), by its ``kind``."""
    package = SERVERS.get(server.kind.lower())
    if package is None:
        accepted = " or ".join(repr(kind) for kind in SERVERS)
        raise ValueError(f"DICOM_SERVER_KIND must be {accepted}, not {server.kind!r}")
    return importlib.import_module(package).open_feed(server)
