"""Orthanc's ``/changes`` log: what changed when, read page by page (no metadata).

Orthanc names each change's resource by its Orthanc ID only and stamps it in whole seconds (UTC);
change dates grow with the sequence, so a window's first change is found by binary search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dicom_assets.sources.entries import FeedChange, FeedPoll
from dicom_assets.sources.http import CountingSession

CHANGES_PAGE = 1000
NEW_INSTANCE = "NewInstance"


def parse_orthanc_date(value: str) -> datetime:
    """Orthanc writes change dates as ``20261125T171152`` in UTC."""
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewInstance:
    sequence: int
    timestamp: datetime
    orthanc_id: str


def changes_page(
    session: CountingSession, orthanc_url: str, since: int, limit: int = CHANGES_PAGE
) -> dict[str, Any]:
    response = session.get(f"{orthanc_url}/changes", params={"since": since, "limit": limit})
    response.raise_for_status()
    return response.json()


def last_sequence(session: CountingSession, orthanc_url: str) -> int:
    response = session.get(f"{orthanc_url}/changes", params={"last": ""})
    response.raise_for_status()
    return int(response.json().get("Last", 0))


def poll_changes(
    session: CountingSession, orthanc_url: str, after_sequence: int, max_changes: int
) -> FeedPoll:
    changes: list[FeedChange] = []
    cursor = after_sequence
    while len(changes) < max_changes:
        page = changes_page(session, orthanc_url, cursor)
        for change in page["Changes"]:
            cursor = max(cursor, int(change["Seq"]))
            if change["ChangeType"] == NEW_INSTANCE:
                changes.append(FeedChange(int(change["Seq"]), parse_orthanc_date(change["Date"])))
        if page.get("Done", True) or not page["Changes"]:
            break
    return FeedPoll(changes=changes, next_cursor=cursor)


def _first_sequence_at_or_after(session: CountingSession, orthanc_url: str, start: datetime) -> int:
    """The ``since`` value from which ``/changes`` starts at the window: binary search."""
    low, high = 0, last_sequence(session, orthanc_url)
    while low < high:
        middle = (low + high) // 2
        page = changes_page(session, orthanc_url, middle, limit=1)
        if not page["Changes"]:
            high = middle
            continue
        change = page["Changes"][0]
        if parse_orthanc_date(change["Date"]) >= start:
            high = middle
        else:
            low = max(int(change["Seq"]), middle + 1)
    return low


def new_instances_between(
    session: CountingSession,
    orthanc_url: str,
    start: datetime,
    end: datetime,
    after_sequence: int,
) -> list[NewInstance]:
    """The ``NewInstance`` changes stamped from ``start`` to before ``end``."""
    # After a synced sequence of this window the feed continues right there: an open window
    # is never searched for nor paged from its start again.
    since = (
        after_sequence
        if after_sequence > 0
        else _first_sequence_at_or_after(session, orthanc_url, start)
    )
    found: list[NewInstance] = []
    while True:
        page = changes_page(session, orthanc_url, since)
        for change in page["Changes"]:
            since = max(since, int(change["Seq"]))
            timestamp = parse_orthanc_date(change["Date"])
            if timestamp >= end:
                return found
            if change["ChangeType"] == NEW_INSTANCE and timestamp >= start:
                found.append(NewInstance(int(change["Seq"]), timestamp, change["ID"]))
        if page.get("Done", True) or not page["Changes"]:
            return found
