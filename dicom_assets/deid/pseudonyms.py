"""Keyed pseudonyms: UIDs, patient IDs and date shifts, all HMAC-SHA256 with the lake's key.

- UID: ``2.25.<decimal of the first 128 bits of HMAC-SHA256(key, uid)>`` (at most 44
  characters, a valid UI). The same UID maps the same way everywhere, so references between
  instances hold; without the key nothing can be reversed or enumerated.
- PatientID: ``PSEUDO-<32 hex digits of HMAC-SHA256(key, "PatientID\\0" + id)>`` (a valid LO).
- Date shift: ``1 + int(HMAC-SHA256(key, "date-shift\\0" + PatientID)) % 3650`` days back.

The labels separate the three uses of one key. A data owner re-identifies by recomputing:
hash every candidate value with the key and look the pseudonym up (docs/deidentification.md).
Each distinct value costs one HMAC; results are cached per process (bounded).
"""

from __future__ import annotations

import hmac

MAX_SHIFT_DAYS = 3650
_CACHE_LIMIT = 1_000_000
_PATIENT_LABEL = b"PatientID\0"
_SHIFT_LABEL = b"date-shift\0"
_FINGERPRINT_LABEL = b"dicom-assets lake fingerprint\0"


class Pseudonyms:
    """The keyed mappings of one key, with caches (only distinct values cost an HMAC)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.uids: dict[str, str] = {}
        self.patient_ids: dict[str, str] = {}
        self.shifts: dict[str, int] = {}

    def __repr__(self) -> str:  # never shows the key
        return "Pseudonyms(<key hidden>)"

    def _digest(self, message: bytes) -> bytes:
        return hmac.digest(self._key, message, "sha256")  # one-shot: the C fast path

    def uid(self, uid: str) -> str:
        found = self.uids.get(uid)
        if found is None:
            if len(self.uids) > _CACHE_LIMIT:
                self.uids.clear()
            digest = self._digest(uid.encode("utf-8", "surrogatepass"))
            found = self.uids[uid] = f"2.25.{int.from_bytes(digest[:16], 'big')}"
        return found

    def patient_id(self, patient_id: str) -> str:
        found = self.patient_ids.get(patient_id)
        if found is None:
            if len(self.patient_ids) > _CACHE_LIMIT:
                self.patient_ids.clear()
            digest = self._digest(_PATIENT_LABEL + patient_id.encode("utf-8", "surrogatepass"))
            found = self.patient_ids[patient_id] = f"PSEUDO-{digest[:16].hex()}"
        return found

    def shift_days(self, patient_id: str) -> int:
        found = self.shifts.get(patient_id)
        if found is None:
            if len(self.shifts) > _CACHE_LIMIT:
                self.shifts.clear()
            digest = self._digest(_SHIFT_LABEL + patient_id.encode("utf-8", "surrogatepass"))
            found = self.shifts[patient_id] = 1 + int.from_bytes(digest[:8], "big") % MAX_SHIFT_DAYS
        return found

    def digest(self, data: bytes) -> str:
        """A keyed digest of any bytes (what the quarantine keeps of an unreadable payload)."""
        return self._digest(b"payload\0" + data).hex()

    def fingerprint(self) -> str:
        """Identifies the key without revealing it (stored with the lake, see guard.py)."""
        return self._digest(_FINGERPRINT_LABEL).hex()[:32]
