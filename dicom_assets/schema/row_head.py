"""Checking a change-feed entry before conversion: a row's fixed fields, or a quarantine reason."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import orjson

from dicom_assets.schema.values import INT64_MAX, INT64_MIN, is_utf8
from dicom_assets.schema.vr import IDENTITY_KEYS

_UID_FIELDS = {
    "StudyInstanceUID": "study_instance_uid",
    "SeriesInstanceUID": "series_instance_uid",
    "SOPInstanceUID": "sop_instance_uid",
}


class Unreadable(Exception):
    """The entry cannot become a row; the message is the quarantine reason."""


@dataclass
class RowHead:
    """The fixed columns of one row and its metadata (None for deletes)."""

    sequence: int
    timestamp: dt.datetime
    action: str
    uids: dict[str, str | None]
    metadata: dict | None
    metadata_json: bytes | None
    payload: bytes | None = None  # the metadata's JSON bytes, while not parsed (see read_head)


def payload_text(payload: Any) -> str:
    """The payload as JSON text when possible, else its repr; never raises."""
    if isinstance(payload, (bytes, bytearray)):
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return payload
    try:
        return metadata_json(payload).decode()
    except Exception:  # noqa: BLE001 - best effort by contract
        try:
            return repr(payload)
        except Exception:  # noqa: BLE001
            return f"<unrepresentable {type(payload).__name__}>"


def metadata_json(metadata: Any) -> bytes:
    """Serialise metadata as compact JSON (orjson; the stdlib escapes what orjson refuses)."""
    try:
        return orjson.dumps(metadata)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return orjson.dumps(metadata, default=repr, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        pass
    # Lone surrogates and nesting beyond orjson's limit: ASCII-escaped stdlib JSON.
    return json.dumps(metadata, ensure_ascii=True, default=repr, separators=(",", ":")).encode()


def _uid_from_metadata(metadata: dict | None, keyword: str) -> str | None:
    if metadata is None:
        return None
    key = next(k for k, v in IDENTITY_KEYS.items() if v == keyword)
    elem = metadata.get(key)
    if type(elem) is dict and type(elem.get("Value")) is list and len(elem["Value"]) == 1:
        uid = elem["Value"][0]
        if isinstance(uid, str) and uid and is_utf8(uid):
            return uid
    return None


def _sequence(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unreadable(f"sequence {value!r:.80} is not an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise Unreadable(f"sequence {value} does not fit in int64")
    return value


def _timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise Unreadable(f"timestamp {value!r:.80} is not a datetime")
    # The feed's timestamps are UTC; a zone-less one is read as UTC rather than refused.
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _metadata(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, bytearray)):  # raw JSON text: parse it rather than refuse
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise Unreadable(f"metadata is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Unreadable(f"metadata is a {type(value).__name__}, not a DICOM JSON object")
    return value


def _entry_uids(entry: Any) -> dict[str, str | None]:
    uids = {}
    for column, attribute in _UID_FIELDS.items():
        uid = getattr(entry, attribute, None)
        uids[column] = uid if isinstance(uid, str) and uid and is_utf8(uid) else None
    return uids


def _unparsed(metadata: Any) -> bytes | None:
    """JSON bytes to hand to the native shredder as they are, if ``metadata`` is JSON text."""
    if isinstance(metadata, bytes):
        return metadata
    if isinstance(metadata, bytearray):
        return bytes(metadata)
    if isinstance(metadata, str):
        try:
            return metadata.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return None


def read_head(entry: Any, parse: bool = True) -> RowHead:
    """The fixed fields of ``entry``; raises :class:`Unreadable` when it cannot be a row.

    With ``parse=False``, metadata given as JSON text is kept as ``payload`` bytes, unparsed,
    when the entry names its three UIDs (see :func:`parsed` for the rest).
    """
    sequence = _sequence(getattr(entry, "sequence", None))
    timestamp = _timestamp(getattr(entry, "timestamp", None))
    action = getattr(entry, "action", None)
    action = getattr(action, "value", action)
    if not isinstance(action, str) or not is_utf8(action):
        raise Unreadable(f"action {action!r:.80} is not a string")
    uids = _entry_uids(entry)
    raw = getattr(entry, "metadata", None)
    if not parse and all(uids.values()):
        payload = _unparsed(raw)
        if payload is not None:
            return RowHead(sequence, timestamp, action, uids, None, None, payload)
    return parsed(RowHead(sequence, timestamp, action, uids, None, None), raw)


def parsed(head: RowHead, raw: Any = None) -> RowHead:
    """``head`` with its metadata parsed and re-serialised: from ``raw`` or from its payload."""
    metadata = _metadata(head.payload if head.payload is not None else raw)
    uids = {
        column: uid if uid is not None else _uid_from_metadata(metadata, column)
        for column, uid in head.uids.items()
    }
    encoded = None
    if metadata is not None:
        try:
            encoded = metadata_json(metadata)
        except (ValueError, TypeError, RecursionError) as exc:
            raise Unreadable(f"metadata cannot be written as JSON: {exc}") from None
    return RowHead(head.sequence, head.timestamp, head.action, uids, metadata, encoded)
