"""De-identifying change-feed entries before they are converted: the conversion's one hook.

Each entry leaves with pseudonymous UIDs and de-identified metadata, in the form it came (JSON
bytes stay JSON bytes, so the native shredder still reads them; dicts stay dicts). Metadata
that is not JSON becomes a marker the converter quarantines: the reason and a keyed digest of
the payload, never the payload. Server extras (e.g. Orthanc's ID, a hash of patient data) are
dropped.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import orjson

from dicom_assets.deid.dataset import deidentify_dataset
from dicom_assets.deid.marks import marks
from dicom_assets.deid.native import NativePass
from dicom_assets.deid.profile import Profile
from dicom_assets.deid.pseudonyms import Pseudonyms
from dicom_assets.deid.settings import DeidSettings

_ENTRY_UIDS = {
    "study_instance_uid": "0020000D",
    "series_instance_uid": "0020000E",
    "sop_instance_uid": "00080018",
}
UNREADABLE_MARKER = "unreadable metadata, not stored (de-identification on)"


class Deidentifier:
    """The profile, options and key of one lake (see docs/deidentification.md)."""

    def __init__(self, settings: DeidSettings) -> None:
        if not settings.enabled:
            raise ValueError("Deidentifier needs DICOM_DEIDENTIFY=basic")
        self.settings = settings
        self.profile = Profile(settings.options)
        self.pseudonyms = Pseudonyms(settings.key.encode("utf-8"))
        self.marks = marks(settings.options)
        self._uid_action = {attr: self.profile.action(tag) for attr, tag in _ENTRY_UIDS.items()}
        self.native = NativePass(self.profile, self.pseudonyms, self.marks)
        self.native_share = 0.0  # of the last batch's JSON payloads, for diagnosis and tests

    def __repr__(self) -> str:
        return f"Deidentifier(basic, options={sorted(self.settings.options)})"

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this de-identification (stored with the lake; reveals no key)."""
        return {
            "profile": "basic",
            "options": sorted(self.settings.options),
            "key_fingerprint": self.pseudonyms.fingerprint(),
        }

    def dataset(self, dataset: dict) -> dict:
        return deidentify_dataset(dataset, self.profile, self.pseudonyms, self.marks)

    def entry_uid(self, attribute: str, uid: Any) -> Any:
        """The pseudonymous form of an entry's UID field (what the lake's UID columns hold)."""
        if not isinstance(uid, str) or self._uid_action[attribute] != "U":
            return uid
        return self.pseudonyms.uid(uid)

    def metadata(self, metadata: Any) -> Any:
        if metadata is None:
            return None
        if isinstance(metadata, dict):
            return self.dataset(metadata)
        if isinstance(metadata, (bytes, bytearray, str)):
            try:
                parsed = orjson.loads(metadata)
            except orjson.JSONDecodeError as exc:
                return self._unreadable(metadata, f"metadata is not valid JSON: {exc}")
            if isinstance(parsed, dict):
                return orjson.dumps(self.dataset(parsed))
            return self._unreadable(metadata, f"metadata is a {type(parsed).__name__}")
        return self._unreadable(repr(metadata), f"metadata is a {type(metadata).__name__}")

    def _unreadable(self, payload: Any, reason: str) -> list[str]:
        data = (
            payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)
        )
        return [UNREADABLE_MARKER, reason, f"keyed digest {self.pseudonyms.digest(data)}"]

    def entry(self, entry: Any, native: bytes | None = None) -> Any:
        changes = {attr: self.entry_uid(attr, getattr(entry, attr, None)) for attr in _ENTRY_UIDS}
        metadata = getattr(entry, "metadata", None)
        changes["metadata"] = native if native is not None else self.metadata(metadata)
        if dataclasses.is_dataclass(entry):
            fields = {f.name for f in dataclasses.fields(entry)}
            if "extras" in fields:
                changes["extras"] = {}
            return dataclasses.replace(entry, **{k: v for k, v in changes.items() if k in fields})
        copied = copy.copy(entry)  # a duck-typed entry: a copy with the same fields
        for name, value in changes.items():
            setattr(copied, name, value)
        return copied

    def _native(self, entries: Sequence[Any]) -> list[bytes | None]:
        """The native pass over the entries whose metadata is JSON bytes (None elsewhere)."""
        rows = [i for i, e in enumerate(entries) if type(getattr(e, "metadata", None)) is bytes]
        done: list[bytes | None] = [None] * len(entries)
        if rows and self.native.usable:
            for row, payload in zip(
                rows, self.native.payloads([entries[i].metadata for i in rows])
            ):
                done[row] = payload
        self.native_share = sum(p is not None for p in done) / len(rows) if rows else 0.0
        return done

    def entries(self, entries: Sequence[Any], native: bool = True) -> list[Any]:
        """De-identified copies of ``entries`` (see the module docstring); ``native=False``
        takes every payload through the reference path."""
        done = self._native(entries) if native else [None] * len(entries)
        out = []
        for entry, payload in zip(entries, done):
            try:
                out.append(self.entry(entry, payload))
            except Exception as exc:  # noqa: BLE001 - quarantined, never landed as it came
                out.append(self._failed(entry, exc))
        return out

    def _failed(self, entry: Any, exc: Exception) -> Any:
        marker = self._unreadable(
            repr(getattr(entry, "metadata", None)),
            f"de-identification failed: {type(exc).__name__}",
        )
        fields = {
            "metadata": marker,
            "study_instance_uid": None,
            "series_instance_uid": None,
            "sop_instance_uid": None,
        }
        if dataclasses.is_dataclass(entry):
            names = {f.name for f in dataclasses.fields(entry)}
            fields = {k: v for k, v in {**fields, "extras": {}}.items() if k in names}
            return dataclasses.replace(entry, **fields)
        copied = copy.copy(entry)
        for name, value in fields.items():
            setattr(copied, name, value)
        return copied
