"""Change-feed entries in the Azure DICOM service's camelCase shape, for tests: the recorded
responses (``data/azure``) and entries generated from the recorded metadata, which the replay
server (replay_server.py) serves."""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from .openapi import DATA

RECORDED_PAGE = DATA / "changefeed-v1-page.json"
RECORDED_LATEST = (DATA / "changefeed-latest-1.json", DATA / "changefeed-latest-2.json")
# Tags that identify an instance in DICOM JSON, rewritten when entries are generated.
_STUDY, _SERIES, _SOP = "0020000D", "0020000E", "00080018"


def recorded_page() -> list[dict[str, Any]]:
    return copy.deepcopy(_recorded_page())


@functools.lru_cache(maxsize=1)
def _recorded_page() -> list[dict[str, Any]]:
    return json.loads(RECORDED_PAGE.read_text())


def recorded_latest(index: int) -> dict[str, Any]:
    return json.loads(RECORDED_LATEST[index].read_text())


def dotnet_time(value: datetime) -> str:
    """A timestamp as the service writes it: 7 fractional digits and ``+00:00``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0+00:00"


def make_entry(
    sequence: int,
    timestamp: datetime,
    *,
    action: str = "Create",
    state: str = "Current",
    sop_uid: str | None = None,
    series_uid: str = "1.2.826.0.1.3680043.8.498.1",
    study_uid: str = "1.2.826.0.1.3680043.8.498.2",
    with_metadata: bool | None = None,
) -> dict[str, Any]:
    """A change-feed entry in the service's shape, metadata derived from the recorded one."""
    sop_uid = sop_uid or f"1.2.826.0.1.3680043.8.498.3.{sequence}"
    entry: dict[str, Any] = {
        "sequence": sequence,
        "partitionName": "Microsoft.Default",
        "studyInstanceUid": study_uid,
        "seriesInstanceUid": series_uid,
        "sopInstanceUid": sop_uid,
        "action": action,
        "timestamp": dotnet_time(timestamp),
        "state": state,
    }
    if with_metadata is None:
        with_metadata = action.lower() != "delete" and state.lower() != "deleted"
    if with_metadata:
        metadata = copy.deepcopy(_recorded_page()[0]["metadata"])
        metadata[_STUDY]["Value"] = [study_uid]
        metadata[_SERIES]["Value"] = [series_uid]
        metadata[_SOP]["Value"] = [sop_uid]
        entry["metadata"] = metadata
    return entry


def hourly_feed(first: datetime, count: int, per_hour: int, gap_every: int = 0, gap: int = 0):
    """``count`` creates, ``per_hour`` per hour from ``first``; every ``gap_every`` entries the
    sequence jumps by ``gap`` (the database's identity gaps)."""
    entries, sequence = [], 0
    step = timedelta(hours=1) / per_hour
    for index in range(count):
        sequence += 1
        if gap_every and index and index % gap_every == 0:
            sequence += gap
        entries.append(make_entry(sequence, first + index * step))
    return entries
