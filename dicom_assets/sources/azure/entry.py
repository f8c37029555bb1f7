"""Azure DICOM change-feed entries (camelCase JSON) read into :class:`ChangeFeedEntry`.

Every entry is kept: ``create``, ``update`` and ``delete`` whatever its ``state`` (the agent we
replace kept only ``create``+``current``, so updates and deletes never reached the lake). The
service's ``state`` (``current``/``replaced``/``deleted``), ``partitionName`` and ``filePath``
go into ``extras``. ``metadata`` is present only while the instance exists: deletes, and
entries whose instance is gone, carry none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dicom_assets.feed_entry import ChangeAction, ChangeFeedEntry
from dicom_assets.sources.entries import FeedChange

# Copied into ``extras`` when present (diagnostics; the lake keeps what the schema asks for).
_EXTRA_FIELDS = {"state": "state", "partitionName": "partition_name", "filePath": "file_path"}


class ChangeFeedEntryError(ValueError):
    """A change-feed entry the service sent does not have the documented shape."""


def parse_timestamp(text: str) -> datetime:
    """An ISO-8601 timestamp as sent by .NET (7 fractional digits, ``+00:00`` or ``Z``) -> UTC.

    Digits beyond microseconds are truncated; a timestamp without zone is taken as UTC, which
    is what the service documents for the change feed.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sequence(raw: Mapping[str, Any]) -> int:
    sequence = raw.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ChangeFeedEntryError(f"change-feed entry without an integer sequence: {sequence!r}")
    return sequence


def _timestamp(raw: Mapping[str, Any], sequence: int) -> datetime:
    text = raw.get("timestamp")
    if not isinstance(text, str):
        raise ChangeFeedEntryError(f"change-feed entry {sequence} has no timestamp")
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ChangeFeedEntryError(
            f"change-feed entry {sequence} has an unreadable timestamp {text!r}"
        ) from None


def _action(raw: Mapping[str, Any], sequence: int) -> ChangeAction:
    # The OpenAPI document spells the enum in lower case, the service sends "Create".
    text = str(raw.get("action") or "").strip().lower()
    try:
        return ChangeAction(text)
    except ValueError:
        raise ChangeFeedEntryError(
            f"change-feed entry {sequence} has an unknown action {raw.get('action')!r}"
        ) from None


def change_from_json(raw: Mapping[str, Any]) -> FeedChange:
    """The sensor's view of an entry: its sequence and timestamp."""
    sequence = _sequence(raw)
    return FeedChange(sequence=sequence, timestamp=_timestamp(raw, sequence))


def entry_from_json(raw: Mapping[str, Any]) -> ChangeFeedEntry:
    """One change-feed entry, metadata (DICOM JSON) included when the service sent it."""
    sequence = _sequence(raw)
    metadata = raw.get("metadata")  # a dict, or its JSON bytes (see azure_client)
    if metadata is not None and not isinstance(metadata, (dict, bytes)):
        raise ChangeFeedEntryError(
            f"change-feed entry {sequence} has metadata that is not a DICOM JSON object"
        )
    extras = {}
    for field, name in _EXTRA_FIELDS.items():
        value = raw.get(field)
        if value is not None:
            extras[name] = str(value).lower() if field == "state" else value
    return ChangeFeedEntry(
        sequence=sequence,
        timestamp=_timestamp(raw, sequence),
        action=_action(raw, sequence),
        study_instance_uid=raw.get("studyInstanceUid"),
        series_instance_uid=raw.get("seriesInstanceUid"),
        sop_instance_uid=raw.get("sopInstanceUid"),
        # An empty object is what some versions send instead of null for a deleted instance.
        metadata=metadata or None,
        extras=extras,
    )
