"""The native de-identification pass (``_deid.c``): JSON bytes in, de-identified JSON bytes out.

It writes exactly what the reference (:mod:`dicom_assets.deid.dataset`) gives, serialised by
orjson, so both paths give the same rows and ``_metadata``. A payload it cannot take exactly
comes back as ``None`` and the caller uses the reference for it. Profiles with "clean" actions
(clean-descriptors, retain-device-identity, retain-patient-characteristics) always use the
reference: cleaning text takes regular expressions.

With ``retain-safe-private``, which private elements stay depends on their creators' blocks
(``safe_private.py``). The pass reads each private creator element it meets (action ``Q``): a
payload with a creator Table E.3.10-1 lists (or an escaped one) goes to the reference; in any
other, nothing private stays, and the pass removes every private tag, exactly as the reference.
"""

from __future__ import annotations

import orjson

from dicom_assets.deid.profile import Profile
from dicom_assets.deid.pseudonyms import Pseudonyms
from dicom_assets.deid.safe_private import safe_creators

try:
    from dicom_assets.deid import _deid
except ImportError:  # built without a C compiler: the reference path only
    _deid = None

_CLEANING = frozenset(
    {"clean-descriptors", "retain-device-identity", "retain-patient-characteristics"}
)


def available() -> bool:
    return _deid is not None


class NativePass:
    """The native pass for one profile, key and set of marks."""

    def __init__(self, profile: Profile, pseudonyms: Pseudonyms, marks: dict[str, dict]) -> None:
        self.usable = available() and not (profile.options & _CLEANING)
        self._profile = profile
        self._pseudonyms = pseudonyms
        self._marks = [(int(key, 16), orjson.dumps(value)) for key, value in sorted(marks.items())]
        shifting = "retain-longitudinal-modified-dates" in profile.options
        self._shift = pseudonyms.shift_days if shifting else None
        keeps = profile.keeps_safe_private()
        self._creators = frozenset(c.encode() for c in safe_creators()) if keeps else None

    def payloads(
        self, payloads: list[bytes], reasons: list[str] | None = None
    ) -> list[bytes | None]:
        """De-identified payloads; None where the reference path must take one (why is
        appended to ``reasons`` when given: a position in the payload, never its content)."""
        if not self.usable or not payloads:
            return [None] * len(payloads)
        extra = () if reasons is None else (reasons,)
        keyed = self._pseudonyms
        return _deid.deidentify(
            payloads,
            self._profile.action,
            keyed.uids,
            keyed.uid,
            keyed.patient_ids,
            keyed.patient_id,
            self._shift,
            self._creators,
            self._marks,
            *extra,
        )
