"""The Azure DICOM service's change feed as a :class:`ChangeFeed` (``DICOM_SERVER_KIND=azure``).

Two reads, two shapes of request:

* the **sensor's poll** follows sequence numbers: ``/v1/changefeed?offset=<cursor>&limit=100
  &includeMetadata=false`` pages, up to the sequence that ``/changefeed/latest`` reports;
* the **asset's read of a window** fetches entries with metadata: in v2 the window maps onto
  ``/v2/changefeed?StartTime&EndTime&Offset&Limit=200``; in v1 the window's first sequence is
  found by a binary search over sequence ranges, then ranges of 100 are read until the
  timestamps pass the window's end.

Timestamps and sequences are both assigned when the service inserts an entry, so they agree on
order except between transactions that commit within moments of each other; every comparison
of a timestamp with a window boundary therefore allows ``TIMESTAMP_SKEW`` of slack, and the
exact filter (``start <= timestamp < end``, ``sequence > after_sequence``) is applied to what
was fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from dicom_assets.feed_entry import ChangeFeedEntry
from dicom_assets.sources.azure.client import (
    V1_MAX_LIMIT,
    V2_MAX_LIMIT,
    ChangeFeedClient,
    ChangeFeedError,
)
from dicom_assets.sources.azure.entry import change_from_json, entry_from_json, parse_timestamp
from dicom_assets.sources.azure.v1_search import last_sequence_before
from dicom_assets.sources.entries import FeedChange, FeedPoll
from dicom_assets.sources.http import CountingSession

TIMESTAMP_SKEW = timedelta(seconds=5)

__all__ = ["TIMESTAMP_SKEW", "AzureChangeFeed", "ChangeFeedError"]


class AzureChangeFeed:
    """Change feed of an Azure DICOM service (or the open-source Medical Imaging Server).

    ``base_url`` is the service URL without the version (``https://<ws>-<svc>.dicom.azurehealth
    caretapis.com``); ``api_version`` is ``v2`` (default) or ``v1``; ``page_limit`` is the rows
    per page for metadata reads (default and maximum: 100 in v1, 200 in v2). ``http_calls``
    counts every request, retries included.

    **Why the poll follows sequences in v2 too.** The sensor's cursor is a sequence number, and
    only v1's ``offset`` is a sequence (exclusive, gaps allowed). v2's ``offset`` counts rows of
    a time window, so polling in v2 would need the timestamp of the cursor's entry and would
    trust timestamp order at the boundary, which is exactly where a change committed a moment
    late would be skipped. The sequence ranges are exact, cost one ``latest`` call when nothing
    happened, and one cheap call (no metadata) per 100 sequences when something did. The
    service serves both API versions side by side (the same feed), so a v2 deployment polls
    ``/v1/changefeed`` and reads its windows (the calls that carry metadata) through v2.
    """

    # What its sequence numbers count, for people reading the lag (observability.py).
    sequence_meaning = (
        "the change feed's sequence numbers, one per create, update or delete of an instance "
        "(numbers may skip values)"
    )

    # The feed keeps every entry and reports deletes itself: nothing to reconcile.
    forgets_deleted_changes = False

    def __init__(
        self,
        base_url: str,
        api_version: str = "v2",
        session: CountingSession | None = None,
        page_limit: int | None = None,
    ):
        self._session = session if session is not None else CountingSession()
        self._client = ChangeFeedClient(base_url, api_version, self._session)
        self.api_version = self._client.api_version
        max_limit = V1_MAX_LIMIT if self.api_version == "v1" else V2_MAX_LIMIT
        self.page_limit = max_limit if page_limit is None else int(page_limit)
        if not 1 <= self.page_limit <= max_limit:
            raise ValueError(f"page_limit must be within 1..{max_limit} for {self.api_version}")
        # v1 sequence ranges (the poll in both versions, reads in v1) cannot exceed 100.
        self._range = min(self.page_limit, V1_MAX_LIMIT)

    @property
    def http_calls(self) -> int:
        return self._session.http_calls

    def latest_sequence(self) -> int:
        """The sequence of the feed's last entry (``GET /{version}/changefeed/latest``); 0 when
        the feed is empty (the service answers with an empty body)."""
        latest = self._client.latest()
        return 0 if latest is None else change_from_json(latest).sequence

    def poll(self, after_sequence: int, max_changes: int = 10_000) -> FeedPoll:
        """Changes after ``after_sequence`` (sequence and timestamp only), at most
        ``max_changes``, in order of sequence.

        Pages of 100 sequences are read up to ``latest``, through empty ranges (gaps) too.
        ``next_cursor`` covers every sequence that was read: ``latest`` when all was read,
        else the last change returned. Entries committed after the ``latest`` call are left
        for the next poll, so that the cursor never passes a range that was not read.
        """
        if max_changes < 1:
            raise ValueError("max_changes must be at least 1")
        latest = self.latest_sequence()
        cursor = after_sequence
        changes: list[FeedChange] = []
        while cursor < latest:
            upper = min(cursor + self._range, latest)
            page = self._client.v1_range(cursor, self._range, include_metadata=False)
            found = sorted(
                (change_from_json(raw) for raw in page),
                key=lambda change: change.sequence,
            )
            found = [change for change in found if cursor < change.sequence <= upper]
            room = max_changes - len(changes)
            if len(found) >= room:
                changes.extend(found[:room])
                # Everything up to the last change taken was read; stop there.
                cursor = changes[-1].sequence if len(found) > room else upper
                break
            changes.extend(found)
            cursor = upper
        return FeedPoll(changes=changes, next_cursor=max(cursor, after_sequence))

    def entries_between(
        self, start: datetime, end: datetime, after_sequence: int = 0
    ) -> Iterator[list[ChangeFeedEntry]]:
        """Batches of entries (with metadata) whose timestamp is in ``[start, end)`` and whose
        sequence is above ``after_sequence``; every action and state is kept.

        Each batch is one page, sorted by sequence; pages come in the service's order (v2:
        timestamp then sequence; v1: sequence), and an entry is never yielded twice.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("entries_between needs timezone-aware start and end")
        if end <= start:
            return iter(())
        if self.api_version == "v2":
            return self._entries_v2(start, end, after_sequence)
        return self._entries_v1(start, end, after_sequence)

    def changes_between(self, start: datetime, end: datetime) -> list[FeedChange]:
        """Every change of ``[start, end)`` without metadata (cheap: the completeness check)."""
        changes: dict[int, FeedChange] = {}
        if self.api_version == "v2":
            offset = 0
            while True:
                page = self._client.v2_window(
                    start, end, offset, self.page_limit, include_metadata=False
                )
                for raw in page:
                    change = change_from_json(raw)
                    if start <= change.timestamp < end:
                        changes[change.sequence] = change
                if len(page) < self.page_limit:
                    break
                offset += len(page)
        else:
            latest = self.latest_sequence()
            cursor = last_sequence_before(
                self._client, start - TIMESTAMP_SKEW, 0, latest, self._range
            )
            while cursor < latest:
                page = self._client.v1_range(cursor, self._range, include_metadata=False)
                found = [change_from_json(raw) for raw in page]
                changes.update((c.sequence, c) for c in found if start <= c.timestamp < end)
                if any(c.timestamp >= end + TIMESTAMP_SKEW for c in found):
                    break
                cursor += self._range
        return [changes[sequence] for sequence in sorted(changes)]

    # -- v2: the window is the query -----------------------------------------------------------

    def _entries_v2(
        self, start: datetime, end: datetime, after_sequence: int
    ) -> Iterator[list[ChangeFeedEntry]]:
        window_start = start
        if after_sequence > 0:
            # An open window is read again after new changes: skip what was read before by
            # starting at the cursor entry's timestamp instead of re-paging the whole window.
            cursor_time = self._timestamp_at_or_before(after_sequence)
            if cursor_time is not None:
                window_start = max(start, cursor_time - TIMESTAMP_SKEW)
        if window_start >= end:
            return
        seen: set[int] = set()
        offset = 0
        while True:
            page = self._client.v2_window(
                window_start, end, offset, self.page_limit, include_metadata=True
            )
            batch = self._keep(page, start, end, after_sequence, seen)
            if batch:
                yield batch
            if len(page) < self.page_limit:
                return
            # Rows only ever arrive with later timestamps (the end of the order), so offsets
            # stay stable while paging; ``seen`` drops a row shifted by a late commit.
            offset += len(page)

    def _timestamp_at_or_before(self, sequence: int) -> datetime | None:
        """Timestamp of the last entry at or below ``sequence`` (one call), if any is near."""
        page = self._client.v1_range(
            max(sequence - V1_MAX_LIMIT, 0), min(sequence, V1_MAX_LIMIT), include_metadata=False
        )
        below = [change_from_json(raw) for raw in page]
        below = [change for change in below if change.sequence <= sequence]
        if not below:
            return None
        return max(below, key=lambda change: change.sequence).timestamp

    # -- v1: the window is found by sequence ---------------------------------------------------

    def _entries_v1(
        self, start: datetime, end: datetime, after_sequence: int
    ) -> Iterator[list[ChangeFeedEntry]]:
        latest = self.latest_sequence()
        if latest <= after_sequence:
            return
        cursor = last_sequence_before(
            self._client, start - TIMESTAMP_SKEW, after_sequence, latest, self._range
        )
        seen: set[int] = set()
        stop_after = end + TIMESTAMP_SKEW
        while cursor < latest:
            page = self._client.v1_range(cursor, self._range, include_metadata=True)
            page = [raw for raw in page if cursor < raw.get("sequence", 0) <= latest]
            batch = self._keep(page, start, end, after_sequence, seen)
            if batch:
                yield batch
            if any(parse_timestamp(raw["timestamp"]) >= stop_after for raw in page):
                return
            cursor += self._range

    # -- shared --------------------------------------------------------------------------------

    @staticmethod
    def _keep(
        page: list[dict[str, Any]],
        start: datetime,
        end: datetime,
        after_sequence: int,
        seen: set[int],
    ) -> list[ChangeFeedEntry]:
        batch = []
        for raw in page:
            entry = entry_from_json(raw)
            if entry.sequence <= after_sequence or entry.sequence in seen:
                continue
            if not start <= entry.timestamp < end:
                continue
            seen.add(entry.sequence)
            batch.append(entry)
        batch.sort(key=lambda entry: entry.sequence)
        return batch
